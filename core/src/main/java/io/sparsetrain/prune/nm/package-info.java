/**
 * N:M semi-structured magnitude masks (keep the N largest |w| of every M consecutive weights along K,
 * as NVIDIA Apex ASP does) and Apex-style input-channel permutation search that raises the kept magnitude.
 */
package io.sparsetrain.prune.nm;
