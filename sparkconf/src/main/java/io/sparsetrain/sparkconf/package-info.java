/** The Spark settings every entry point and test shares, as named profiles (one source of truth). */
package io.sparsetrain.sparkconf;
