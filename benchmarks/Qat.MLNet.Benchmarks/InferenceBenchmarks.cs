using BenchmarkDotNet.Attributes;
using Qat.MLNet.Inference;
using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// Inference of the MLP and CNN of torch_qat_fmnist.py, one thread: the int8 engine (QuantizedModel) beside the
/// TorchSharp float forward of the same network (eval mode, no_grad), batch 1 and 256. Goal: int8 at least 3x faster at
/// batch 256 and 5x at batch 1.
/// </summary>
public class InferenceBenchmarks
{
    private Sequential _float = null!;
    private QuantizedModel _int8 = null!;
    private Tensor _input = null!;
    private float[] _inputArray = null!;
    private float[] _output = null!;

    /// <summary>The network.</summary>
    [Params("mlp", "cnn")]
    public string Model { get; set; } = "mlp";

    /// <summary>Samples per call.</summary>
    [Params(1, 256)]
    public int Batch { get; set; }

    /// <summary>Builds, calibrates and converts the network (random weights and inputs: speed does not depend on them).</summary>
    [GlobalSetup]
    public void Setup()
    {
        set_num_threads(1);
        manual_seed(7);
        var shape = BenchmarkModels.InputShape(Model);
        var dims = Model == "cnn" ? new long[] { 1, 28, 28 } : new long[] { 784 };
        var calibration = rand(new long[] { 512 }.Concat(dims).ToArray());
        _float = Model == "cnn" ? BenchmarkModels.Cnn() : BenchmarkModels.Mlp();
        using var qat = BenchmarkModels.PrepareAndCalibrate(_float, QuantBackend.Fbgemm, calibration);
        _int8 = Quantizer.Convert(qat, shape);
        _float.eval();
        _input = rand(new long[] { Batch }.Concat(dims).ToArray()).DetachFromDisposeScope();
        _inputArray = _input.data<float>().ToArray();
        _output = new float[Batch * _int8.OutputSize];
        Console.WriteLine($"// {Model}: {BenchmarkModels.MacsPerSample(Model)} MACs per sample; kernel path {QuantizedModel.BestKernelPath}");
    }

    /// <summary>TorchSharp float forward.</summary>
    [Benchmark(Baseline = true)]
    public void TorchSharpFloat()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _float.forward(_input);
    }

    /// <summary>The int8 engine.</summary>
    [Benchmark]
    public void Int8Engine() => _int8.Predict(_inputArray, _output, Batch);
}
