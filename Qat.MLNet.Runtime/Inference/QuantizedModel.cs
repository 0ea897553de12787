using System.Runtime.CompilerServices;
using System.Buffers;
using Qat.MLNet.Inference.Kernels;

namespace Qat.MLNet.Inference;

/// <summary>
/// A network converted to integers (PyTorch: the model <c>torch.ao.quantization.convert</c> returns): the input is
/// quantized to uint8, every layer runs on uint8 activations and int8 weights with int32 accumulation, and the output is
/// dequantized. No TorchSharp is needed to run it. Thread-safe: every call rents its own scratch memory.
/// </summary>
public sealed class QuantizedModel
{
    /// <summary>The most memory one sample may need in one layer (activations or scratch): 1 GiB.</summary>
    internal const long MaxBytesPerSample = 1L << 30;

    private readonly int _maxActivation;
    private readonly int _maxScratch;
    private readonly QuantizedLayer[] _layers;
    private readonly Int8Kernels _kernels;

    /// <summary>Assembles a model and checks that the layers' shapes chain.</summary>
    /// <param name="inputShape">Per-sample input shape.</param>
    /// <param name="input">How float inputs are quantized (the QuantStub's parameters).</param>
    /// <param name="layers">The layers in order.</param>
    /// <param name="output">How the last layer's levels are dequantized.</param>
    /// <exception cref="ArgumentException">The shapes do not chain, or the parameters are invalid.</exception>
    public QuantizedModel(ActivationShape inputShape, QuantizationParameters input, IReadOnlyList<QuantizedLayer> layers, QuantizationParameters output)
        : this(inputShape, input, layers, output, null, Int8Kernels.ForThisCpu)
    {
    }

    /// <summary>Assembles a model whose inputs are standardized per feature before quantization.</summary>
    /// <param name="inputShape">Per-sample input shape.</param>
    /// <param name="input">How the standardized inputs are quantized.</param>
    /// <param name="layers">The layers in order.</param>
    /// <param name="output">How the last layer's levels are dequantized.</param>
    /// <param name="standardization">The per-feature step in front of quantization, one entry per input value; null for none.</param>
    /// <exception cref="ArgumentException">The shapes do not chain, the parameters are invalid, or the standardization has another size.</exception>
    public QuantizedModel(ActivationShape inputShape, QuantizationParameters input, IReadOnlyList<QuantizedLayer> layers, QuantizationParameters output,
        FeatureStandardization? standardization)
        : this(inputShape, input, layers, output, standardization, Int8Kernels.ForThisCpu)
    {
    }

    private QuantizedModel(ActivationShape inputShape, QuantizationParameters input, IReadOnlyList<QuantizedLayer> layers, QuantizationParameters output,
        FeatureStandardization? standardization, Int8Kernels kernels)
    {
        ArgumentNullException.ThrowIfNull(layers);
        CheckShape(inputShape, nameof(inputShape));
        input.Validate("input quantization");
        output.Validate("output quantization");
        if (standardization is not null && standardization.Count != inputShape.Size)
            throw new ArgumentException($"The standardization covers {standardization.Count} features but the input has {inputShape.Size} values.", nameof(standardization));
        var packed = new QuantizedLayer[layers.Count];
        var shape = inputShape;
        int maxActivation = inputShape.Size, maxScratch = 0;
        for (int i = 0; i < packed.Length; i++)
        {
            var original = layers[i] ?? throw new ArgumentException($"Layer {i} is null.", nameof(layers));
            CheckShape(original.InputShape, nameof(layers));
            CheckShape(original.OutputShape, nameof(layers));
            // Every layer runs on the model's one dispatch; a layer packed for another is repacked (its weights are shared).
            var layer = packed[i] = original.WithKernels(kernels);
            if (layer.InputShape != shape)
                throw new ArgumentException($"Layer '{layer.Name}' expects {layer.InputShape} but receives {shape}.", nameof(layers));
            shape = layer.OutputShape;
            maxActivation = Math.Max(maxActivation, shape.Size);
            // Everything Predict will allocate per sample is bounded here, once, so no call can overflow a size.
            long scratch = layer.ScratchBytesPerSample;
            if (scratch > MaxBytesPerSample)
                throw new ArgumentException($"Layer '{layer.Name}' would need {scratch} bytes of scratch memory per sample (at most {MaxBytesPerSample}): its dimensions are not those of a model this engine runs.", nameof(layers));
            maxScratch = Math.Max(maxScratch, (int)scratch);
        }
        _kernels = kernels;
        Standardization = standardization;
        InputShape = inputShape;
        OutputShape = shape;
        Input = input;
        Output = output;
        _layers = packed;
        Layers = packed;
        _maxActivation = maxActivation;
        _maxScratch = maxScratch;
        CompileKernels();
    }

    /// <summary>Per-sample input shape.</summary>
    public ActivationShape InputShape { get; }

    /// <summary>Per-sample output shape.</summary>
    public ActivationShape OutputShape { get; }

    /// <summary>Floats per input sample.</summary>
    public int InputSize => InputShape.Size;

    /// <summary>Floats per output sample.</summary>
    public int OutputSize => OutputShape.Size;

    /// <summary>Input quantization (of the standardized inputs when <see cref="Standardization"/> is set).</summary>
    public QuantizationParameters Input { get; }

    /// <summary>The per-feature standardization applied before input quantization, or null.</summary>
    public FeatureStandardization? Standardization { get; }

    /// <summary>Output dequantization.</summary>
    public QuantizationParameters Output { get; }

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<QuantizedLayer> Layers { get; }

    /// <summary>Bytes of weights and parameters (what makes the model about 4x smaller than float).</summary>
    public long ParameterBytes => Layers.Sum(l => l.ParameterBytes) + 8L * (Standardization?.Count ?? 0);

    /// <summary>Refuses a shape whose dimensions are not positive or whose size does not fit one sample's buffer.</summary>
    private static void CheckShape(ActivationShape shape, string paramName)
    {
        long size = (long)shape.Channels * shape.Height * shape.Width;
        if (shape.Channels <= 0 || shape.Height <= 0 || shape.Width <= 0 || size > MaxBytesPerSample)
            throw new ArgumentException(
                $"The activation shape [{shape.Channels}, {shape.Height}, {shape.Width}] must have positive dimensions and at most {MaxBytesPerSample} values per sample.", paramName);
    }

    /// <summary>The kernel path this model runs (chosen from the CPU when it was built or loaded: <see cref="BestKernelPath"/>).</summary>
    public Int8KernelPath KernelPath => _kernels.Path;

    /// <summary>The fastest kernel path this CPU runs; every model is built for it unless <see cref="WithKernelPath"/> says otherwise.</summary>
    public static Int8KernelPath BestKernelPath => Int8Kernels.Best;

    /// <summary>Whether this CPU can run <paramref name="path"/>.</summary>
    public static bool IsKernelPathSupported(Int8KernelPath path) => Int8Kernels.IsSupported(path);

    /// <summary>
    /// The same model on another kernel path (for tests and benchmarks: every path gives the same integers). The weights are
    /// shared; only the packed forms the path needs are made.
    /// </summary>
    /// <exception cref="NotSupportedException">This CPU cannot run <paramref name="path"/>.</exception>
    public QuantizedModel WithKernelPath(Int8KernelPath path)
    {
        var kernels = Int8Kernels.For(path);
        return kernels == _kernels ? this : new QuantizedModel(InputShape, Input, _layers, Output, Standardization, kernels);
    }

    /// <summary>Bytes the model holds in memory (weights and the packed forms of its kernel path), as against <see cref="ParameterBytes"/> on disk.</summary>
    public long ResidentBytes => _layers.Sum(l => l is QuantizedWeightedLayer w ? w.ResidentBytes : l.ParameterBytes) + 8L * (Standardization?.Count ?? 0);

    /// <summary>
    /// Runs <paramref name="batchSize"/> samples: <paramref name="input"/> holds them one after another. Values are
    /// quantized as PyTorch's <c>quantize_per_tensor</c> (clamped to the input range). NaN and infinity are refused: the
    /// quantizer would turn them into finite levels and the outputs would look valid.
    /// </summary>
    /// <param name="input">batchSize x <see cref="InputSize"/> floats.</param>
    /// <param name="output">batchSize x <see cref="OutputSize"/> floats, written.</param>
    /// <param name="batchSize">Samples, at least 1.</param>
    /// <exception cref="ArgumentException">A span has the wrong length, or an input value is NaN or infinite (the message names the sample and the feature).</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    public void Predict(ReadOnlySpan<float> input, Span<float> output, int batchSize = 1)
    {
        Check(input, output, batchSize);
        Run(input, output, batchSize);
    }

    /// <summary>The checks of <see cref="Predict(ReadOnlySpan{float}, Span{float}, int)"/>: sizes, and every value finite.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    private void Check(ReadOnlySpan<float> input, Span<float> output, int batchSize)
    {
        if (batchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be at least 1.");
        if (input.Length != (long)batchSize * InputSize)
            throw new ArgumentException($"input has {input.Length} values; {batchSize} samples of {InputShape} need {(long)batchSize * InputSize}.", nameof(input));
        if (output.Length != (long)batchSize * OutputSize)
            throw new ArgumentException($"output has room for {output.Length} values; {batchSize} samples need {(long)batchSize * OutputSize}.", nameof(output));
        int bad = NonFinite.IndexOf(input);
        if (bad >= 0)
            throw new ArgumentException(
                $"input sample {bad / InputSize}, value {bad % InputSize} is {input[bad].ToString(System.Globalization.CultureInfo.InvariantCulture)}: the int8 engine would quantize it to a finite level " +
                "and return scores that look valid. Replace missing values (or filter such rows out) before predicting.", nameof(input));
    }

    /// <summary>The fewest rows a thread of <see cref="Predict(ReadOnlySpan{float}, Span{float}, int, int)"/> takes (the batched kernels' threshold).</summary>
    public const int MinimumRowsPerThread = QuantizedLinear.BatchedThreshold;

    /// <summary>
    /// <see cref="Predict(ReadOnlySpan{float}, Span{float}, int)"/> on up to <paramref name="degreeOfParallelism"/> threads:
    /// the batch is split into contiguous runs of rows (at least <see cref="MinimumRowsPerThread"/> each), scored at once
    /// on the thread pool; the outputs are the same as on one thread.
    /// </summary>
    /// <param name="input">batchSize x <see cref="InputSize"/> floats.</param>
    /// <param name="output">batchSize x <see cref="OutputSize"/> floats, written.</param>
    /// <param name="batchSize">Samples, at least 1.</param>
    /// <param name="degreeOfParallelism">Threads to use, at least 1 (<c>Environment.ProcessorCount</c> for all cores).</param>
    /// <exception cref="ArgumentException">As the single-threaded overload, or <paramref name="degreeOfParallelism"/> is below 1.</exception>
    public void Predict(ReadOnlySpan<float> input, Span<float> output, int batchSize, int degreeOfParallelism)
    {
        if (degreeOfParallelism < 1)
            throw new ArgumentOutOfRangeException(nameof(degreeOfParallelism), degreeOfParallelism, "degreeOfParallelism must be at least 1.");
        if (degreeOfParallelism == 1 || batchSize < 2 * MinimumRowsPerThread)
        {
            Predict(input, output, batchSize);
            return;
        }
        Check(input, output, batchSize);
        RunParallel(input, output, batchSize, degreeOfParallelism);
    }

    /// <summary>Runs checked rows on up to <paramref name="degreeOfParallelism"/> threads (contiguous runs of rows).</summary>
    internal unsafe void RunParallel(ReadOnlySpan<float> input, Span<float> output, int batchSize, int degreeOfParallelism)
    {
        int threads = Math.Min(degreeOfParallelism, batchSize / MinimumRowsPerThread);
        if (threads <= 1)
        {
            Run(input, output, batchSize);
            return;
        }
        int perThread = (batchSize + threads - 1) / threads;
        fixed (float* inputs = input)
        fixed (float* outputs = output)
        {
            nint x = (nint)inputs, y = (nint)outputs;
            int inSize = InputSize, outSize = OutputSize;
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                int start = t * perThread, rows = Math.Min(perThread, batchSize - start);
                if (rows > 0)
                    Run(new ReadOnlySpan<float>((float*)x + (long)start * inSize, rows * inSize), new Span<float>((float*)y + (long)start * outSize, rows * outSize), rows);
            });
        }
    }

    /// <summary>
    /// <see cref="Predict(ReadOnlySpan{float}, Span{float}, int)"/> without its checks, for callers that have made them
    /// (the transformers' row scorer and the trainer check every row's size and values as they read it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call (no tier-0 SIMD)
    internal void Run(ReadOnlySpan<float> input, Span<float> output, int batchSize)
    {
        int activationBytes = checked(batchSize * _maxActivation + Int8Gemm.Slack);
        byte[] a = ArrayPool<byte>.Shared.Rent(activationBytes);
        byte[] b = ArrayPool<byte>.Shared.Rent(activationBytes);
        byte[] scratch = ArrayPool<byte>.Shared.Rent(_maxScratch + Int8Gemm.Slack);
        float[]? standardized = Standardization is null ? null : ArrayPool<float>.Shared.Rent(input.Length);
        try
        {
            if (standardized is not null)
            {
                Standardization!.Apply(input, standardized, batchSize);
                Input.Quantize(standardized.AsSpan(0, input.Length), a);
            }
            else
            {
                Input.Quantize(input, a);
            }
            var current = a;
            var next = b;
            // The array, not the IReadOnlyList: no enumerator allocation per call.
            foreach (var layer in _layers)
            {
                layer.Run(current, next, batchSize, scratch);
                (current, next) = (next, current);
            }
            var o = Output;
            for (int i = 0; i < output.Length; i++)
                output[i] = o.Dequantize(current[i]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(a);
            ArrayPool<byte>.Shared.Return(b);
            ArrayPool<byte>.Shared.Return(scratch);
            if (standardized is not null)
                ArrayPool<float>.Shared.Return(standardized);
        }
    }

    /// <summary>
    /// The levels every layer writes for checked inputs (per-layer diagnosis): entry 0 is the quantized input, entry i + 1
    /// layer i's output, each <paramref name="batchSize"/> x that layer's output size; with the quantization of each.
    /// </summary>
    internal (byte[] Levels, QuantizationParameters Quantization)[] RunLayers(ReadOnlySpan<float> input, int batchSize)
    {
        Check(input, new float[checked(batchSize * OutputSize)], batchSize);
        var result = new (byte[], QuantizationParameters)[_layers.Length + 1];
        var standardized = input.ToArray();
        Standardization?.Apply(input, standardized, batchSize);
        var current = new byte[checked(batchSize * _maxActivation + Int8Gemm.Slack)];
        Input.Quantize(standardized, current);
        var q = Input;
        result[0] = (current[..(batchSize * InputSize)], q);
        byte[] scratch = new byte[_maxScratch + Int8Gemm.Slack];
        for (int i = 0; i < _layers.Length; i++)
        {
            var layer = _layers[i];
            var next = new byte[current.Length];
            layer.Run(current, next, batchSize, scratch);
            q = layer switch
            {
                QuantizedWeightedLayer w => w.Output,
                FloatWeightedLayer f => f.Output,
                QuantizedAvgPool2d a => a.Quantization,
                _ => q,
            };
            result[i + 1] = (next[..(batchSize * layer.OutputShape.Size)], q);
            current = next;
        }
        return result;
    }

    /// <summary>Saves the model in the versioned, checksummed <see cref="QuantizedModelFormat"/>; the stream is left open.</summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        QuantizedModelWriter.Write(this, stream);
    }

    /// <summary>
    /// Saves the model to <paramref name="path"/> without ever leaving a half-written file there: it is written to a
    /// temporary file in the same folder, flushed, and renamed over <paramref name="path"/>, so a failed save (disk full,
    /// a crash) keeps whatever file was there before.
    /// </summary>
    /// <exception cref="IOException">The file cannot be written; the previous file, if any, is unchanged.</exception>
    public void Save(string path) => Internal.AtomicFile.Write(path, Save);

    /// <summary>Loads a model saved by <see cref="Save(string)"/>.</summary>
    /// <exception cref="InvalidDataException">The file is truncated, corrupted, of another version, or describes an invalid model.</exception>
    public static QuantizedModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = File.OpenRead(path);
        return Load(file);
    }

    /// <summary>Loads a model saved by <see cref="Save(Stream)"/>; the stream is left open.</summary>
    /// <exception cref="InvalidDataException">The data is truncated, corrupted, of another version, or describes an invalid model; the message says which.</exception>
    public static QuantizedModel Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return QuantizedModelReader.Read(stream);
    }

    /// <summary>
    /// Runs one and sixteen zero samples, so that the JIT compiles the kernels this model uses (single-row and batched
    /// paths) while the model is built or loaded rather than in its first request: 15-30 ms once per process (the
    /// kernels are then compiled), microseconds for every later model. With the kernels marked AggressiveOptimization,
    /// no call ever runs tier-0 code: the first 1,000 calls run at the steady state's speed (benchmarks/README.md).
    /// </summary>
    private void CompileKernels()
    {
        // Bounded, so that a large (or hostile but valid) model does not allocate at load what only a request would.
        foreach (int batch in new[] { 1, QuantizedLinear.BatchedThreshold })
        {
            if (BytesPerSample * batch > CompileKernelsBudgetBytes)
                break;
            Predict(new float[batch * InputSize], new float[batch * OutputSize], batch);
        }
    }

    /// <summary>Memory one sample of a Predict call takes: two activation buffers, scratch, the float input and output.</summary>
    internal long BytesPerSample => 2L * _maxActivation + _maxScratch + 4L * (InputSize + OutputSize);

    /// <summary>The most memory the load-time kernel compilation may use: 64 MiB (larger models compile at their first call).</summary>
    internal const long CompileKernelsBudgetBytes = 64L << 20;

    /// <summary>Runs a batch and returns the outputs.</summary>
    /// <exception cref="ArgumentException">The batch size is not positive, does not fit the input, or an input value is NaN or infinite.</exception>
    public float[] Predict(float[] input, int batchSize = 1)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (batchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be at least 1.");
        if (input.Length != (long)batchSize * InputSize)
            throw new ArgumentException($"input has {input.Length} values; {batchSize} samples of {InputShape} need {(long)batchSize * InputSize}.", nameof(input));
        var output = new float[checked(batchSize * OutputSize)];
        Predict(input, output, batchSize);
        return output;
    }
}
