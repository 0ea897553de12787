using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Optim;

/// <summary>
/// Adam as PyTorch's <c>torch.optim.Adam</c> (betas 0.9/0.999, eps 1e-8, L2 weight decay added to the gradient, no
/// amsgrad): <c>m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)</c>.
/// </summary>
internal sealed class AdamUpdater : ParameterUpdater
{
    private const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;
    private readonly Dictionary<Parameter, int> _steps = new();

    public AdamUpdater(IEnumerable<Parameter> parameters, double learningRate, double weightDecay, IEnumerable<Parameter>? withoutDecay = null)
        : base(parameters, learningRate, weightDecay, withoutDecay)
    {
    }

    protected override Tensor[] CreateState(Parameter parameter) => new[] { ZerosLike(parameter), ZerosLike(parameter) };

    protected override void Update(Parameter parameter, Tensor grad, Tensor[] state)
    {
        int t = _steps[parameter] = _steps.GetValueOrDefault(parameter) + 1;
        double correction1 = 1 - Math.Pow(Beta1, t), correction2 = 1 - Math.Pow(Beta2, t);
        using Scalar one = 1.ToScalar(), decay = WeightDecayOf(parameter).ToScalar(), beta1 = Beta1.ToScalar(), oneMinusBeta1 = (1 - Beta1).ToScalar(),
            beta2 = Beta2.ToScalar(), oneMinusBeta2 = (1 - Beta2).ToScalar(), sqrtCorrection2 = Math.Sqrt(correction2).ToScalar(),
            epsilon = Epsilon.ToScalar(), step = (-LearningRate / correction1).ToScalar();
        var g = WeightDecayOf(parameter) == 0 ? grad : grad.add(parameter, decay);
        var (m, v) = (state[0], state[1]);
        m.mul_(beta1).add_(g, oneMinusBeta1);
        v.mul_(beta2).addcmul_(g, g, oneMinusBeta2);
        var denominator = v.sqrt().div_(sqrtCorrection2).add_(epsilon, one);
        parameter.addcdiv_(m, denominator, step);
    }
}
