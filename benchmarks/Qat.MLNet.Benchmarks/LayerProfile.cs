using System.Diagnostics;
using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using static TorchSharp.torch;

namespace Qat.MLNet.Benchmarks;

/// <summary>Time per layer of the converted MLP or CNN at one batch size: <c>dotnet run -c Release -- layers --model cnn --batch 256 [--path AvxVnni]</c>.</summary>
public static class LayerProfile
{
    /// <summary>Runs the profile.</summary>
    public static void Run(string[] args)
    {
        string Arg(string name, string fallback) => args.SkipWhile(a => a != "--" + name).Skip(1).FirstOrDefault() ?? fallback;
        string kind = Arg("model", "cnn");
        int batch = int.Parse(Arg("batch", "256"), System.Globalization.CultureInfo.InvariantCulture);
        set_num_threads(1);
        manual_seed(7);
        var dims = kind == "cnn" ? new long[] { 1, 28, 28 } : new long[] { 784 };
        using var qat = BenchmarkModels.PrepareAndCalibrate(kind == "cnn" ? BenchmarkModels.Cnn() : BenchmarkModels.Mlp(), QuantBackend.Fbgemm,
            rand(new long[] { 512 }.Concat(dims).ToArray()));
        var model = Quantizer.Convert(qat, BenchmarkModels.InputShape(kind));
        if (args.SkipWhile(a => a != "--path").Skip(1).FirstOrDefault() is { } path)
            model = model.WithKernelPath(Enum.Parse<Qat.MLNet.Inference.Kernels.Int8KernelPath>(path, ignoreCase: true));
        Console.WriteLine($"// {kind}, batch {batch}, kernel path {model.KernelPath}");
        var input = new byte[batch * model.Layers.Max(l => Math.Max(l.InputShape.Size, l.OutputShape.Size)) + 64];
        var output = new byte[input.Length];
        var scratch = new byte[model.Layers.Max(l => l.ScratchBytesPerSample) + 64];
        new Random(1).NextBytes(input);
        foreach (var layer in model.Layers)
        {
            for (int i = 0; i < 3; i++)
                layer.Run(input, output, batch, scratch);
            var watch = Stopwatch.StartNew();
            int reps = 0;
            while (watch.ElapsedMilliseconds < 300)
            {
                layer.Run(input, output, batch, scratch);
                reps++;
            }
            Console.WriteLine($"{layer.Name,-10} {layer.GetType().Name,-20} {layer.InputShape} -> {layer.OutputShape}: {watch.Elapsed.TotalMilliseconds / reps:F3} ms");
        }
    }
}
