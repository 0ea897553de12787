using BenchmarkDotNet.Attributes;
using Qat.MLNet.Quantization;
using static TorchSharp.torch;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// Fake-quant forward + backward on a 256x4096 float32 tensor, per tensor and per channel (axis 0), beside one
/// TorchSharp elementwise add on the same tensor (the baseline). Goal: at most 3x the add.
/// </summary>
public class FakeQuantBenchmarks
{
    private Tensor _x = null!;
    private Tensor _other = null!;
    private Tensor _upstream = null!;
    private float[] _scales = null!;
    private int[] _zeroPoints = null!;

    /// <summary>libtorch intra-op threads (our kernels use as many).</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>Makes the seeded inputs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        set_num_threads(Threads);
        manual_seed(20261125);
        _x = (randn(256, 4096) * 3).requires_grad_(true).DetachFromDisposeScope();
        _other = randn(256, 4096).DetachFromDisposeScope();
        _upstream = randn(256, 4096).DetachFromDisposeScope();
        _scales = Enumerable.Range(0, 256).Select(i => 0.02f + i * 1e-4f).ToArray();
        _zeroPoints = new int[256];
    }

    /// <summary>Baseline: one TorchSharp add of two 256x4096 tensors.</summary>
    [Benchmark(Baseline = true)]
    public void TorchSharpAdd()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var sum = _x.add(_other);
    }

    /// <summary>Per-tensor fake quantization, forward and backward (gradient w.r.t. x).</summary>
    [Benchmark]
    public void FakeQuantPerTensorForwardBackward()
    {
        using var scope = NewDisposeScope();
        var y = FakeQuant.PerTensorAffine(_x, 0.05f, 0, -128, 127);
        var grads = autograd.grad(new[] { y }, new[] { _x }, new[] { _upstream });
    }

    /// <summary>Per-channel (axis 0, 256 channels) fake quantization, forward and backward.</summary>
    [Benchmark]
    public void FakeQuantPerChannelForwardBackward()
    {
        using var scope = NewDisposeScope();
        var y = FakeQuant.PerChannelAffine(_x, _scales, _zeroPoints, 0, -128, 127);
        var grads = autograd.grad(new[] { y }, new[] { _x }, new[] { _upstream });
    }

    /// <summary>The observer-driven FakeQuantize module (observers frozen, as after the freeze epoch), forward and backward.</summary>
    [Benchmark]
    public void FakeQuantizeModuleForwardBackward()
    {
        using var scope = NewDisposeScope();
        var y = _module.forward(_x);
        var grads = autograd.grad(new[] { y }, new[] { _x }, new[] { _upstream });
    }

    /// <summary>LearnableFakeQuantize (LSQ) learning its scale and zero point: forward and backward to x, scale and zero point.</summary>
    [Benchmark]
    public void LearnableFakeQuantizeForwardBackward()
    {
        using var scope = NewDisposeScope();
        var y = _learnable.forward(_x);
        var grads = autograd.grad(new[] { y }, new Tensor[] { _x, _learnable.Scale, _learnable.ZeroPoint }, new[] { _upstream });
    }

    private Quantization.FakeQuantize _module = null!;
    private Quantization.LearnableFakeQuantize _learnable = null!;

    /// <summary>The two modules, calibrated on the input once and then frozen / switched to learning.</summary>
    [GlobalSetup(Targets = [nameof(FakeQuantizeModuleForwardBackward), nameof(LearnableFakeQuantizeForwardBackward)])]
    public void SetupModules()
    {
        Setup();
        _module = new Quantization.FakeQuantize();
        _learnable = new Quantization.LearnableFakeQuantize(useGradScaling: true);
        using (NewDisposeScope())
        {
            _module.forward(_x.detach());
            _learnable.forward(_x.detach());
        }
        _module.DisableObserver();
        _learnable.EnableParamLearning();
    }

    /// <summary>Frees the inputs.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _x.Dispose();
        _other.Dispose();
        _upstream.Dispose();
    }
}
