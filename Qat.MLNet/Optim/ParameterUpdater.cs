using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Optim;

/// <summary>
/// The optimizer step of the Qat trainers (PyTorch: <c>torch.optim.Optimizer</c>), written here instead of using
/// TorchSharp's <c>optim.SGD</c>/<c>optim.Adam</c> because of a TorchSharp 0.107 defect: its optimizers (and
/// <c>Tensor.add(Tensor)</c>, <c>BatchNorm.forward</c>) pass implicitly created <see cref="TorchSharp.Scalar"/> objects to
/// native code without keeping them alive, so a garbage collection on another thread during the call (ML.NET's data
/// threads allocate constantly) can finalize and free a Scalar that libtorch is still reading: "Expected false to be true"
/// from <c>Scalar::toLong/toFloat</c>, or worse (reproduced here with TorchSharp's SGD and Adam under concurrent GC;
/// upstream dotnet/TorchSharp#1434 and #1496 are open). Every Scalar these updaters pass is created with <c>using</c>,
/// so it stays reachable until the native call has returned.
/// </summary>
internal abstract class ParameterUpdater : IDisposable
{
    private readonly Dictionary<Parameter, Tensor[]> _state = new();

    private readonly HashSet<Parameter> _withoutDecay;

    protected ParameterUpdater(IEnumerable<Parameter> parameters, double learningRate, double weightDecay, IEnumerable<Parameter>? withoutDecay)
    {
        Parameters = parameters.ToArray();
        LearningRate = learningRate;
        WeightDecay = weightDecay;
        _withoutDecay = new HashSet<Parameter>(withoutDecay ?? [], ReferenceEqualityComparer.Instance);
    }

    /// <summary>The weight decay of <paramref name="parameter"/>: none for the learned quantization parameters (decay would shrink a scale toward zero).</summary>
    protected double WeightDecayOf(Parameter parameter) => _withoutDecay.Contains(parameter) ? 0 : WeightDecay;

    protected IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The learning rate of the next steps.</summary>
    public double LearningRate { get; set; }

    protected double WeightDecay { get; }

    /// <summary>Zeroes every parameter's gradient (PyTorch: <c>zero_grad(set_to_none=False)</c>).</summary>
    public void ZeroGrad()
    {
        using var scope = NewDisposeScope();
        foreach (var p in Parameters)
            p.grad?.zero_();
    }

    /// <summary>Updates every parameter that has a gradient, without recording autograd history.</summary>
    public void Step()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var p in Parameters)
        {
            if (p.grad is not { } grad)
                continue;
            if (!_state.TryGetValue(p, out var state))
            {
                state = CreateState(p);
                _state[p] = state;
            }
            Update(p, grad, state);
        }
    }

    /// <summary>Per-parameter state tensors (momentum buffers, moments), created at the first step and kept outside any dispose scope.</summary>
    protected abstract Tensor[] CreateState(Parameter parameter);

    /// <summary>One parameter's update; runs inside a dispose scope and no_grad.</summary>
    protected abstract void Update(Parameter parameter, Tensor grad, Tensor[] state);

    /// <summary>Zeros shaped like <paramref name="parameter"/>, owned by the updater (disposed with it).</summary>
    protected static Tensor ZerosLike(Parameter parameter) => zeros_like(parameter).DetachFromDisposeScope();

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var tensors in _state.Values)
            foreach (var t in tensors)
                t.Dispose();
        _state.Clear();
    }
}
