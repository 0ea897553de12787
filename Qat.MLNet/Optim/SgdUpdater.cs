using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Optim;

/// <summary>
/// Stochastic gradient descent with momentum, as PyTorch's <c>torch.optim.SGD</c> (dampening 0, no Nesterov):
/// <c>g = grad + weightDecay * p; buf = momentum * buf + g</c> (the first step: <c>buf = g</c>); <c>p -= lr * buf</c>.
/// </summary>
internal sealed class SgdUpdater : ParameterUpdater
{
    private readonly double _momentum;
    private readonly HashSet<Parameter> _started = new();

    public SgdUpdater(IEnumerable<Parameter> parameters, double learningRate, double momentum, double weightDecay, IEnumerable<Parameter>? withoutDecay = null)
        : base(parameters, learningRate, weightDecay, withoutDecay)
    {
        _momentum = momentum;
    }

    protected override Tensor[] CreateState(Parameter parameter) => _momentum == 0 ? Array.Empty<Tensor>() : new[] { ZerosLike(parameter) };

    protected override void Update(Parameter parameter, Tensor grad, Tensor[] state)
    {
        using Scalar one = 1.ToScalar(), decay = WeightDecayOf(parameter).ToScalar(), momentum = _momentum.ToScalar(), step = (-LearningRate).ToScalar();
        var g = WeightDecayOf(parameter) == 0 ? grad : grad.add(parameter, decay);
        if (_momentum != 0)
        {
            var buffer = state[0];
            if (_started.Add(parameter))
                buffer.copy_(g);
            else
                buffer.mul_(momentum).add_(g, one);
            g = buffer;
        }
        parameter.add_(g, step);
    }
}
