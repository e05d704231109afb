/**
 * The N:M sparse-kernel engine: a compressed N:M weight format and float32 kernels (dense and
 * N:M GEMM, their gradients, conv2d and fully connected layers on top), pure Java with the
 * incubating Vector API. No ND4J, DL4J or Spark here.
 *
 * <h2>Entry points</h2>
 * <ul>
 *   <li>{@link io.sparsetrain.kernels.NmMatrix}: W [rows, K] compressed N:M (built from dense W and
 *       a 0/1 mask, {@code toDense()}, versioned {@code writeTo}/{@code readFrom},
 *       {@code withValues} to refresh the values after a training step without re-validating the mask).</li>
 *   <li>{@link io.sparsetrain.kernels.GemmKernels}: the products; {@link io.sparsetrain.kernels.KernelProvider#get()}
 *       returns the Vector API implementation ({@code vector.VectorGemm}) or, with a logged warning
 *       when {@code jdk.incubator.vector} is absent, {@link io.sparsetrain.kernels.ScalarGemm}
 *       (the plain-loop reference every fast kernel is tested against).</li>
 *   <li>{@link io.sparsetrain.kernels.Conv2dKernels} (NCHW, stride, padding, dilation; forward, input gradient,
 *       weight gradient at kept positions only; stride-1 forwards, input gradients and dense weight gradients
 *       direct, the rest via im2col) with
 *       {@link io.sparsetrain.kernels.Conv2dShape}, and {@link io.sparsetrain.kernels.DenseLayerKernels}.</li>
 *   <li>{@link io.sparsetrain.kernels.KernelThreads}: the fixed pool; {@code -Dsparsetrain.kernel.threads=N}
 *       or {@link io.sparsetrain.kernels.KernelThreads#setShared(int)}; default all cores.</li>
 * </ul>
 * Conventions: row-major float arrays, W [rows, K], X [K, cols], Y [rows, cols]; a conv weight
 * [Cout, Cin, kh, kw] is W [Cout, Cin*kh*kw] and its im2col columns are batch * Ho * Wo.
 * Outputs are overwritten. The convolutions' forwards and input gradients also write into a caller's array
 * ({@code forward(shape, input, weight, output)}, {@code backwardInput(shape, dOut, weight, dInput)}): a new array
 * is zeroed on the calling thread first (0.06-0.09 ms for a ResNet-20 convolution's output at batch 32). The
 * inference plans hand their convolutions arrays that earlier steps' dead values gave back (BENCHMARKS.md, session
 * 16). The N:M weight gradient is returned per slot (like
 * {@code NmMatrix.values()}); {@code NmMatrix.scatterSlots} expands it to dense dW with zeros at
 * pruned positions.
 *
 * <h2>Format</h2>
 * N:M with 1 &lt;= N &lt; M &lt;= 8 (1:4, 2:4, 2:8, 4:8, ...) along K, K padded to a multiple of M (the
 * padded positions are never kept). Per group: N float slots plus N in-group indices of
 * ceil(log2 M) bits, bit-packed (2:4: 2 floats + 4 bits per group, i.e. 4.5 bytes for 4 weights
 * instead of 16). A group may keep <em>fewer</em> than N (e.g. after a method that drops whole
 * groups): spare slots hold 0 and repeat the previous index; an empty group is encoded as a
 * descending index pair (an empty 1:M group reads back as keeping index 0 with value 0).
 * Masks keeping more than N in a group are rejected naming row and group. Serialization: magic
 * "NMMX", version 1, N, M, rows, K, values, metadata; unknown versions fail with a clear message.
 *
 * <h2>Kernel design (Vector API, 512-bit on the target Zen 5)</h2>
 * <b>Why the obvious 2:4 kernel loses.</b> A dense register-blocked kernel (8 rows x 2 vectors,
 * 16 accumulators) loads each X vector once for 8 FMAs. In N:M, every output row needs different
 * X rows, so an X vector loaded for one row cannot be reused by the next; selecting among loaded
 * registers by a runtime index is impossible without shuffles (JDK 17 has no cheap two-source
 * permute). The kernel therefore gathers from memory, one load per FMA, and everything else is
 * organised to make that load cheap:
 * <ol>
 *   <li><b>Compression-time layout</b> ({@link io.sparsetrain.kernels.NmLayout}, built once per mask):
 *       the real slots as CSR (K position + value per entry, padding slots dropped), block
 *       pointers per 64-position reduction block, and the transposed CSR for W^T (input gradient),
 *       padded so that groups of 4 consecutive output rows have equal entry counts per block.
 *       Index decoding in the inner loop is one byte load and one multiply.
 *       The kernels read the entries <em>block-major</em> ({@link io.sparsetrain.kernels.NmLayout.Gather}):
 *       they sweep all output rows of one reduction block before the next, and a row-major CSR
 *       made every (row, block) segment its own memory stream: 512 rows are 512 interleaved
 *       streams, far more than the prefetchers follow, so once the weights outgrow L2 each segment
 *       was a cache miss. Laid out by block, then row, a sweep reads its entries in order. Each
 *       entry's index is its position inside the block, one byte (5 bytes per kept entry with its
 *       value). Measured side by side (PairedRatio, BENCHMARKS.md session 10): 2:4 forward at
 *       512x4608x49 went from 0.87-0.93x to 1.22-1.52x our dense kernel, at 256x2304x196 from
 *       1.04-1.44x to 1.48-1.68x.</li>
 *   <li><b>Packed X panels</b>: per reduction block, 64 rows x 128 columns of X (8 vectors, 32 KiB)
 *       are copied into an L1-resident slab, zero-padded past the last column (no tail masks in
 *       the inner loop). Narrower panels (4, 2, 1 vectors) cover the remaining columns so 49 or 196
 *       columns do not pay for a 128-wide panel. conv2d writes this layout directly from im2col
 *       ({@link io.sparsetrain.kernels.PackedProducts}) instead of packing twice.</li>
 *   <li><b>Register blocking</b>: 2 output rows x 8 vectors (16 accumulators; 4 x 4 for narrow
 *       panels) advance in lock step through their entries: per entry one broadcast of the weight
 *       and 8 FMAs with memory operands on the slab row. Generated code
 *       ({@code core/src/main/scripts/gen_nm_gather.py}) so the accumulators are named locals.
 *       C2 merges the 8 bounds checks of one entry into 2. Rows with extra entries in a block and
 *       the row tail go through a one-row method, which keeps every kernel small enough for C1:
 *       when C1's tier-3 compile of a 2,300-byte kernel failed ("out of virtual registers") after
 *       a tier-2 compile, the kernel stayed in tier-2 code, where the Vector API runs its Java
 *       fallback (ResNet-20 2:4 batch-1 inference at 17-40 images/s instead of ~125;
 *       {@code InferenceWarmup} in the benchmarks module shows it).</li>
 *   <li><b>Alignment</b>: unaligned 512-bit loads cost ~1.5x here and the gather is load-bound.
 *       Java aligns arrays to 8 bytes only, so the slab lives in a per-thread G1 humongous array
 *       (never moved, region-aligned) at the offset that puts the data on a 64-byte boundary.
 *       Measured: 2:4 forward 95-130 instead of 60-96 dense-equivalent GFLOP/s on one core.</li>
 *   <li><b>Gradients</b>: the input gradient W^T dY uses the same gather kernel on the padded
 *       transposed CSR. The weight gradient (dW only at the kept positions) is a sampled product
 *       with the gather kernel's economics ({@code VectorGemm.nmBackwardWeightSampled}, generated
 *       micro-kernels {@code vector.NmWeightGradKernels} from
 *       {@code core/src/main/scripts/gen_nm_weight_grad.py}): a task is a reduction block of K
 *       positions (2:4: 64, so 32 kept entries per row) x a chunk of rows; per column panel (up to
 *       8 vectors) it packs the X slab of the block into its aligned workspace (L1) and, per row,
 *       keeps the panel's dY vectors in registers and takes the row's kept entries 16 at a time,
 *       each with its own vector accumulator: one L1 load of X per FMA, the dY operand shared by
 *       16 entries. Lanes are not reduced per panel: vector partial sums go to a lane buffer
 *       (16 floats per entry, L2) and only the last panel reduces them, 16 entries at once, with
 *       a transpose-reduction tree (15 steps of 2 blends, 1 permute, 1 add) into one vector of 16
 *       sums. Entry lists are padded to multiples of 16 per (row, block) at layout time
 *       ({@link io.sparsetrain.kernels.NmLayout#weightGradLayout}). The tree's fixed cost per 16
 *       entries is only amortised over many columns. <b>Off by default</b>: inside the ResNet-20
 *       conv backward (tens of thousands of columns) it measured slower than the dense route on a
 *       quiet machine (BENCHMARKS.md), so {@code VectorGemm.DW_SAMPLED_MIN_COLS} defaults to
 *       "never" and the weight gradient takes the former route, the dense product dY X^T followed
 *       by a gather ({@code nmBackwardWeightViaDense}); {@code -Dsparsetrain.kernels.dwSampledMinCols=256}
 *       turns the sampled kernel on above 256 columns.
 *       Both are wired through {@code GemmKernels.nmBackwardWeight} (conv2d and dense-layer
 *       backward). Two JDK 17 pitfalls met on the way: a method over 8000 bytes of bytecode is
 *       never compiled (interpreted: 100x slower), and a helper taking the blend mask and shuffle
 *       as parameters is not inlined into a large kernel, after which C2 cannot intrinsify them
 *       (boxed vectors, ~30x slower); the generator writes the tree steps out. The earlier
 *       per-entry dot product ({@code nmBackwardWeightSddmm}, one {@code reduceLanes} per entry and
 *       column block) measured 0.3-0.8x of dense. A third form, routed by shape (at most 128 rows and
 *       at least 768 columns; {@code -Dsparsetrain.kernels.dwGrouped=true|false} forces it on or off):
 *       the <em>pattern-grouped</em> kernel ({@code VectorGemm.nmBackwardWeightGrouped},
 *       {@code vector.NmGroupedWeightGrad}, generated micro-kernels from
 *       {@code core/src/main/scripts/gen_nm_grouped_weight_grad.py}) partitions the rows of every
 *       group of M by kept pattern ({@link io.sparsetrain.kernels.NmLayout#groupedLayout}) and runs
 *       each block of rows sharing a pattern as a dense register block: the pattern's N rows of X
 *       loaded once per column vector for the whole block, each dY vector once for the row's N
 *       positions (2:4, 8 rows: 10 loads per 16 FMAs instead of about one per FMA), accumulators
 *       reduced once per column tile. Measured (quiet machine, BENCHMARKS.md): 1.3-1.5x the dense
 *       product at 64x576x3136 and 128x1152x784, 1.7-1.9x on ResNet-20's stage-1/2 training shapes
 *       (16x144x50176, 32x288x12544), 0.3-0.7x with fewer columns or more rows (each group rereads the
 *       panel's dY tile from L2: 2 FMAs per L2 load for 2:4), hence the shape route.</li>
 *   <li><b>Dense kernel</b>: 8 x 2-vector tile, B packed 128 x 32 per slab (also aligned), A read
 *       with strides so A^T and B^T need no transposed copies. The tile takes each B row's offset from a
 *       table, so that the direct convolution can run it on rows of a padded image.</li>
 *   <li><b>Direct convolution</b> (forward and input gradient; stride 1, any kernel size, padding, dilation;
 *       {@link io.sparsetrain.kernels.DirectConvolutions}, {@code vector.DirectConv}): im2col writes
 *       Cin*kh*kw*Ho*Wo floats per image (9x the input for 3x3) that the product then reads back; at batch 32
 *       that buffer is far larger than the caches, and it was half the forward time with the product on it
 *       memory-bound at 36-89 GFLOP/s. With the input zero-padded to [Cin, Hp, Wp] and output position
 *       (oy, ox) numbered {@code oy * Wp + ox}, the im2col row of (ci, ky, kx) over a panel of output
 *       positions is simply the padded image read from {@code ci*Hp*Wp + ky*dh*Wp + kx*dw} on: the dense tile
 *       reads those rows in place (offset table), the N:M gather kernels read them through per-entry int
 *       offsets ({@code dgather}, derived from the gather layout through {@link io.sparsetrain.kernels.NmLayout#derived}, cached per
 *       geometry), and the Wp - Wo positions past each output row are computed and dropped when the panel is
 *       written out. For the gather kernels (one load per FMA, unaligned loads 1.5x) every row must start on
 *       a vector boundary: the row width is rounded up to whole vectors, several images side by side in one
 *       row when that wastes less (Wp = 9: 5 images in 48 floats), and copy kx of the padded planes is
 *       shifted left by kx*dw, so (ci, ky, kx) is read aligned from copy kx; layouts that would waste more
 *       than 11% of the columns (batch 1 on 7x7 maps) read unaligned. Maps too large for one image's aligned
 *       copies (64 channels at 56x56: 2.8 MB) are cut into bands of output rows, each padded with the kernel's
 *       reach and laid out like an image, whose copies fit 1 MiB (1.03-1.12x at batch 8-32, 1.11-1.30x at batch
 *       1-3 on two threads, same JVM); so are aligned images past 1 MiB (128 channels at 28x28) on several
 *       threads, when the bands get the image-parallel schedule (1.01-1.24x). The aligned planes are a few cache
 *       lines apart when a reduction block's rows would otherwise crowd some L1 sets (planes a multiple of 4 KiB
 *       apart, as at 32x14: 2:4 1.03-1.07x; the tap-major layouts of channel-wise masks 1.30-1.33x).
 *       Two schedules: when every thread gets
 *       an image group and some are left over, and one group's copies fit 1 MiB (ResNet-20 and 64x56x56 at batch 32),
 *       each task is a whole image group, padded by the task into its own workspace and read from there by
 *       all its panels (L2-hot copies, coarse tasks); otherwise (batch 1-2 on two threads, large maps) all threads
 *       pad a shared chunk of about 2 MiB of images, then split its (group, panel, row chunk) tasks. The
 *       image-parallel schedule made the 2:4 forward 1.08-2.3x faster on two threads (the shared chunks were
 *       read from L3 by the other core) and 1.01-1.09x on one. Groups left over after the last full round
 *       (5 groups of 7 images at 64x7, batch 32, two threads; odd batches) are split across the threads by
 *       column panels, each part padding the group itself: 1.00-1.16x on those shapes (same JVM).
 *       The input gradient of a stride-1 convolution is
 *       the same computation on dY padded by the kernel's reach minus the padding, with the kernel flipped and the
 *       kept entries regrouped by input channel (built per compressed matrix in O(nnz), cached on its layout).
 *       The dense weight gradient too: dW^T [K, Cout] is the padded image's rows (read in place as the A operand
 *       of the register tile, one row-offset per K position) times dY^T numbered like the columns (zero at the
 *       dropped ones), summed over the images. The N:M weight gradient of a stride-1 convolution with at most 256
 *       output channels runs the pattern-grouped micro-kernels on padded images too
 *       ({@code vector.DirectNmWeightGrad}): several images stacked in one padded buffer whose padding rows and
 *       columns are shared between neighbours (rows of W + pad, images H + pad rows apart), so each K position
 *       is one long row through all the stacked images and the accumulators are reduced once per tile of 1024
 *       columns, not once per 7x7 image; measured 1.03-1.68x the dense direct dW side by side on ResNet-20's
 *       shapes, and 1.11-1.40x the masked dense route at 128-256 channels; wider layers (0.86x at 512 on two
 *       threads) keep the dense product masked. The dense weight gradient of a layer with at most one vector (16) of output channels
 *       runs the same kernels with every position kept: the register tile is two vectors of output channels
 *       wide and multiplied half zeros there (1.57x faster; 0.53-0.84x from 32 channels, which keep the tile).
 *       Strided convolutions keep im2col.</li>
 *   <li><b>Threads</b>: {@link io.sparsetrain.kernels.KernelThreads}, a fixed pool; work is split
 *       into column panels x row chunks (rows split only when there are fewer than 2 panels per
 *       thread), handed out dynamically; each task packs its own slabs into its thread's workspace.
 *       Idle workers spin for a millisecond before parking ({@code -Dsparsetrain.kernel.spinMicros}): on this
 *       VM a parked worker takes 50-90 microseconds to wake, which cost the two-thread convolutions about
 *       half that per call (the caller works alone meanwhile) and ResNet-20 inference through the layers
 *       up to 1.7x at batch 1.</li>
 * </ol>
 *
 * <h2>Measured (JMH, benchmarks/run-kernels.sh; AMD EPYC Zen 5 VM, 2 cores)</h2>
 * The host's speed drifts by a third between runs; the ratios that count are measured side by side by
 * {@code io.sparsetrain.benchmarks.PairedRatio} (alternating slices in one JVM; BENCHMARKS.md, session 16: 2:4
 * forward 1.55-1.96x our dense on one thread, 1.58-1.82x on two; 1:4 2.84-3.38x on one thread, 2.66-2.85x on two;
 * 2:4 input gradient 1.38-2.40x, weight gradient 0.72-1.92x; session 12, two runs: 2:4 forward 1.50-1.99x on one
 * thread, 1.39-1.84x on two). The
 * table below is the JMH run of 2026-11-21 (row-major layout). Conv2d since the direct convolution (session 11):
 * dense forward 1.5-3.0x, dense dX 1.5-3.8x and dense dX + dW 1.4-2.9x the im2col route; 2:4 vs that dense
 * (session 12: image-parallel, one-row 8-vector panels) 1.21-1.54x forward on one thread, 1.16-1.35x on two, dX
 * 1.10-1.44x, dX + dW 1.00-1.14x (the N:M weight gradient of a stride-1 convolution was then the dense direct
 * product, masked; session 13's grouped route on padded images: see BENCHMARKS.md).
 * Dense-equivalent GFLOP/s (2 rows K cols per product), medians, one thread, run of 2026-11-21
 * (benchmarks/results/kernels-2026-11-21.txt); full tables with
 * 2 threads, ND4J and DL4J in {@code benchmarks/results/kernels-*.txt}. On this VM the
 * register-only FMA peak measured ~116 GFLOP/s per core (not the 265 of an idle Zen 5 core), so
 * compare ratios rather than absolute figures.
 * <pre>
 * rows x K x cols   our dense   2:4    1:4   Nd4j.gemm | 2:4/dense 1:4/dense | dX 2:4/dense dW 2:4/dense
 * 64x576x3136         76.6    125.6  208.8     81.8   |   1.64      2.72    |    1.62         1.01
 * 128x1152x784        84.6    133.4  230.9     91.9   |   1.58      2.73    |    1.59         1.02
 * 256x2304x196        80.8    119.0  203.2     91.8   |   1.47      2.52    |    1.40         0.91
 * 512x4608x49         67.6     99.7  166.7     75.3   |   1.48      2.47    |    1.39         0.68
 * 1024x1024x1024      88.9    134.9  243.4     97.8   |   1.52      2.74    |    1.62         1.00
 * (quiet machine, one thread; two threads and the other baselines in BENCHMARKS.md. ND4J: OpenBLAS
 * 0.3.19 with OPENBLAS_CORETYPE=SkylakeX; INDArray.mmul and the conv2d op were slower.)
 *
 * Sampled 2:4 weight gradient vs our dense dW, LOADED machine (load average 23-25 on 2 cores from
 * a training job and other JVMs; one thread; minimum over 80 interleaved calls in one JVM,
 * sampled / via-dense / dense in turn; benchmarks/results/dw-sampled-loaded-2026-11-21.txt;
 * quiet-machine rerun pending): 64x576x3136 1.49x, 128x1152x784 1.43x, 256x2304x196 1.04x,
 * 512x4608x49 0.64x, 1024^3 1.18-1.39x (two runs, noisy). The dense-then-gather route measured 0.7-1.0x in
 * the same runs; hence the 256-column switch. The dW columns of the table above are the former route.
 * conv2d 3x3, C -> C, batch 32, 1 thread: our dense vs DL4J ConvolutionLayer 10-25x forward,
 * 9-20x backward; 2:4 vs our dense 1.14-1.32x forward, 1.09-1.16x backward (im2col/col2im and
 * the dense-route weight gradient are shared costs).
 * </pre>
 * The 2:4 pattern's limit is 2x; the gather kernel spends one L1 load per FMA (plus per-entry index
 * and broadcast loads) where the dense kernel spends 1/8, so on a load-bound core it lands at
 * ~1.3-1.6x. Measured on one L1-resident block (BENCHMARKS.md, session 14): the gather loop runs at
 * 1.47-1.50x a dense tile that is at 99% of the FMA peak, about 74% of the peak itself; with this
 * machine's one 512-bit load per cycle its ceiling is about 1.6x. Two other designs did worse there:
 * pairs of rows sharing the loads of positions both keep (1.32-1.40x: shorter loops, and a load
 * feeding two FMAs is no longer an FMA memory operand), and rows in vector lanes with the
 * activations permuted per lane (one permute per FMA: 0.92-1.06x of the same lane-wise dense kernel). 1:4 halves the entries again. Wide-column shapes gain most; 49 columns (7x7 maps at
 * batch 1) gain least because a 64-wide panel is 23% padding for both kernels and per-row overheads
 * weigh more. Run the JVM with {@code --add-modules=jdk.incubator.vector}; the first calls of a
 * shape run interpreted until C2 compiles the kernels (about 1-2 s).
 */
package io.sparsetrain.kernels;
