using Qat.MLNet.Inference;
using Qat.MLNet.Inference.Kernels;
using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using static TorchSharp.torch;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// The <c>kernels</c> command: which int8 kernel path to dispatch to, measured. One thread, the MLP and CNN of
/// torch_qat_fmnist.py with the fbgemm (7-bit activations) and qnnpack (8-bit) qconfigs, batch 1, 16 and 256: TorchSharp
/// float beside the same int8 model built for every kernel path this CPU runs (<see cref="QuantizedModel.WithKernelPath"/>),
/// round-robin, median of 15 rounds after 200 warm-up calls. Also checks that every path gives the same bytes.
/// Usage: <c>dotnet run -c Release -- kernels [--model mlp|cnn] [--backend fbgemm|qnnpack]</c>.
/// </summary>
internal static class KernelPathComparison
{
    public static void Run(string[] args)
    {
        string? only = args.SkipWhile(a => a != "--model").Skip(1).FirstOrDefault();
        string? backendName = args.SkipWhile(a => a != "--backend").Skip(1).FirstOrDefault();
        set_num_threads(1);
        var paths = Enum.GetValues<Int8KernelPath>().Where(p => p != Int8KernelPath.Scalar && QuantizedModel.IsKernelPathSupported(p)).ToArray();
        Console.WriteLine($"CPU: {OnnxRuntimeComparison.CpuModel()}; paths {string.Join(", ", paths)}; best {QuantizedModel.BestKernelPath}; 1 thread");
        Console.WriteLine("| network | qconfig | batch | engine | time per call | vs TorchSharp float |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        foreach (string kind in new[] { "mlp", "cnn" }.Where(k => only is null || k == only))
        {
            foreach (var backend in new[] { QuantBackend.Fbgemm, QuantBackend.Qnnpack }.Where(b => backendName is null || b.ToString().Equals(backendName, StringComparison.OrdinalIgnoreCase)))
            {
                manual_seed(7);
                var dims = kind == "cnn" ? new long[] { 1, 28, 28 } : new long[] { 784 };
                var floatModel = kind == "cnn" ? BenchmarkModels.Cnn() : BenchmarkModels.Mlp();
                using var qat = BenchmarkModels.PrepareAndCalibrate(floatModel, backend, rand(new long[] { 512 }.Concat(dims).ToArray()));
                var int8 = Quantizer.Convert(qat, BenchmarkModels.InputShape(kind));
                floatModel.eval();
                var models = paths.Select(int8.WithKernelPath).ToArray();
                foreach (int batch in new[] { 1, 16, 256 })
                {
                    using var scope = NewDisposeScope();
                    var tensor = rand(new long[] { batch }.Concat(dims).ToArray());
                    var input = tensor.data<float>().ToArray();
                    var outputs = models.Select(m => new float[batch * m.OutputSize]).ToArray();
                    var engines = new List<Action>
                    {
                        () =>
                        {
                            using var step = NewDisposeScope();
                            using var noGrad = no_grad();
                            floatModel.forward(tensor);
                        },
                    };
                    for (int i = 0; i < models.Length; i++)
                    {
                        var (model, output) = (models[i], outputs[i]);
                        engines.Add(() => model.Predict(input, output, batch));
                    }
                    int calls = batch == 1 ? 2000 : batch == 16 ? 200 : (kind == "cnn" ? 10 : 50);
                    var times = OnnxRuntimeComparison.Medians(engines.ToArray(), calls);
                    for (int i = 1; i < outputs.Length; i++)
                    {
                        if (!outputs[i].AsSpan().SequenceEqual(outputs[0]))
                            throw new InvalidOperationException($"{kind} {backend} batch {batch}: the {paths[i]} path's outputs differ from the {paths[0]} path's.");
                    }
                    Console.WriteLine(FormattableString.Invariant($"| {kind} | {backend} | {batch} | TorchSharp float | {OnnxRuntimeComparison.Format(times[0])} | 1.00x |"));
                    for (int i = 0; i < models.Length; i++)
                        Console.WriteLine(FormattableString.Invariant($"| {kind} | {backend} | {batch} | int8, {paths[i]} | {OnnxRuntimeComparison.Format(times[i + 1])} | {times[0] / times[i + 1]:F2}x |"));
                }
            }
        }
    }
}
