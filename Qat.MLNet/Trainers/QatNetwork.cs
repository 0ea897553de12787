using Qat.MLNet.Inference;
using Qat.MLNet.Internal;
using Qat.MLNet.Modules;
using Qat.MLNet.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Trainers;

/// <summary>
/// The float network a Qat trainer trains: a built-in MLP or CNN, or any TorchSharp module the user builds from the layers
/// the int8 engine supports. The trainer wraps it between a <see cref="QuantStub"/> and a <see cref="DeQuantStub"/>,
/// fuses Conv+BatchNorm(+ReLU), Conv+ReLU and Linear+ReLU, and prepares it for QAT.
/// </summary>
public sealed class QatNetwork
{
    private readonly Func<ActivationShape, int, nn.Module<Tensor, Tensor>> _build;
    private readonly ActivationShape? _inputShape;
    private readonly bool _builtIn;

    private QatNetwork(string description, ActivationShape? inputShape, Func<ActivationShape, int, nn.Module<Tensor, Tensor>> build, bool builtIn, int[]? mlpHiddenSizes = null)
    {
        Description = description;
        _inputShape = inputShape;
        _build = build;
        _builtIn = builtIn;
        MlpHiddenSizes = mlpHiddenSizes;
    }

    /// <summary>The hidden widths of a built-in MLP (its layers are <c>fc1</c>, <c>relu1</c>, ...); null for any other network.</summary>
    internal int[]? MlpHiddenSizes { get; }

    /// <summary>A short description for logs and reports, e.g. "MLP 784-128-64-10".</summary>
    public string Description { get; }

    /// <summary>
    /// A multi-layer perceptron: <c>Linear(in, h1), ReLU, ..., Linear(hN, outputs)</c>. Works on any feature vector; normalize
    /// the features first (e.g. <c>NormalizeMeanVariance</c>) as for any neural network.
    /// </summary>
    /// <param name="hiddenSizes">The hidden layer widths, each positive; none gives a linear model. Default: 128, 64.</param>
    /// <exception cref="ArgumentOutOfRangeException">A width is not positive.</exception>
    public static QatNetwork Mlp(params int[] hiddenSizes)
    {
        ArgumentNullException.ThrowIfNull(hiddenSizes);
        for (int i = 0; i < hiddenSizes.Length; i++)
            Guard.InRange(hiddenSizes[i] > 0, $"hiddenSizes[{i}]", hiddenSizes[i], "must be positive.");
        int[] sizes = (int[])hiddenSizes.Clone();
        return new QatNetwork($"MLP in-{string.Join("-", sizes)}{(sizes.Length > 0 ? "-" : "")}out", null,
            (input, outputs) => nn.Sequential(MlpLayers(input.Size, sizes, outputs)), builtIn: true, mlpHiddenSizes: sizes);
    }

    /// <summary><c>fc1</c>, <c>relu1</c>, ..., <c>fcN</c> of the built-in MLP.</summary>
    private static List<(string, nn.Module<Tensor, Tensor>)> MlpLayers(int inputs, int[] sizes, int outputs)
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        int width = inputs;
        for (int i = 0; i < sizes.Length; i++)
        {
            layers.Add(($"fc{i + 1}", nn.Linear(width, sizes[i])));
            layers.Add(($"relu{i + 1}", nn.ReLU()));
            width = sizes[i];
        }
        layers.Add(($"fc{sizes.Length + 1}", nn.Linear(width, outputs)));
        return layers;
    }

    /// <summary>
    /// This built-in MLP behind the frozen piecewise-linear encoding layers (<see cref="QatTrainerOptions.PiecewiseLinearBins"/>):
    /// <c>ple_ramps</c>, <c>ple_bins</c>, then <c>fc1</c> ... reading the encoded values.
    /// </summary>
    internal QatNetwork WithEncoding(PiecewiseLinearEncoding encoding)
    {
        int[] sizes = MlpHiddenSizes ?? throw new InvalidOperationException($"The piecewise-linear encoding needs the built-in MLP; the network is '{Description}'.");
        return new QatNetwork(FormattableString.Invariant($"piecewise-linear encoding ({encoding.Bins} bins per feature) + {Description}"), null, (input, outputs) =>
            nn.Sequential(encoding.Layers().Concat(MlpLayers(encoding.OutputCount, sizes, outputs)).ToList()), builtIn: true, mlpHiddenSizes: sizes);
    }

    /// <summary>
    /// A small convolutional network for images stored row-major in the feature vector (channel, row, column):
    /// for each entry of <paramref name="convChannels"/> a 3x3 convolution (padding 1), BatchNorm2d, ReLU and 2x2 max
    /// pooling; then Flatten, <c>Linear(.., hiddenSize)</c>, ReLU, <c>Linear(hiddenSize, outputs)</c>.
    /// </summary>
    /// <param name="inputShape">Channels, height and width of one sample; their product must equal the feature vector's size.</param>
    /// <param name="convChannels">Output channels of each convolution block. Default: 16, 32.</param>
    /// <param name="hiddenSize">Width of the hidden linear layer. Default: 128.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or the image is too small for the pooling.</exception>
    public static QatNetwork Cnn(ActivationShape inputShape, int[]? convChannels = null, int hiddenSize = 128)
    {
        int[] channels = (int[]?)convChannels?.Clone() ?? new[] { 16, 32 };
        Guard.InRange(inputShape.Channels > 0 && inputShape.Height > 0 && inputShape.Width > 0, nameof(inputShape), inputShape, "must have positive channels, height and width.");
        Guard.InRange(channels.Length > 0, nameof(convChannels), channels.Length, "must list at least one convolution block.");
        for (int i = 0; i < channels.Length; i++)
            Guard.InRange(channels[i] > 0, $"convChannels[{i}]", channels[i], "must be positive.");
        Guard.InRange(hiddenSize > 0, nameof(hiddenSize), hiddenSize, "must be positive.");
        int shrink = 1 << channels.Length;
        Guard.InRange(inputShape.Height >= shrink && inputShape.Width >= shrink, nameof(inputShape), inputShape,
            $"is too small for {channels.Length} 2x2 poolings: height and width must be at least {shrink}.");
        return new QatNetwork($"CNN {inputShape} conv {string.Join("-", channels)} fc {hiddenSize}", inputShape, (input, outputs) =>
        {
            var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
            int c = input.Channels, h = input.Height, w = input.Width;
            for (int i = 0; i < channels.Length; i++)
            {
                layers.Add(($"conv{i + 1}", nn.Conv2d(c, channels[i], 3, padding: 1)));
                layers.Add(($"bn{i + 1}", nn.BatchNorm2d(channels[i])));
                layers.Add(($"relu{i + 1}", nn.ReLU()));
                layers.Add(($"pool{i + 1}", nn.MaxPool2d(2)));
                c = channels[i];
                h /= 2;
                w /= 2;
            }
            layers.Add(("flatten", nn.Flatten()));
            layers.Add(("fc1", nn.Linear(c * h * w, hiddenSize)));
            layers.Add(("relu_fc1", nn.ReLU()));
            layers.Add(("fc2", nn.Linear(hiddenSize, outputs)));
            return nn.Sequential(layers);
        }, builtIn: true);
    }

    /// <summary>
    /// A network the caller builds: <paramref name="build"/> gets the number of input features and the number of outputs
    /// and returns a fresh float module made of Sequential chains of Linear, Conv2d, BatchNorm2d (right after a Conv2d),
    /// ReLU, MaxPool2d, AvgPool2d, Flatten, Dropout and Identity (no QuantStub/DeQuantStub: the trainer adds them).
    /// </summary>
    /// <param name="build">Builds the network from (input size, output count).</param>
    /// <param name="inputShape">For convolutional networks, the (channels, height, width) each feature vector is reshaped to; null feeds
    /// the flat vector.</param>
    /// <param name="description">A name for logs and reports.</param>
    public static QatNetwork Custom(Func<int, int, nn.Module<Tensor, Tensor>> build, ActivationShape? inputShape = null, string description = "custom network")
    {
        ArgumentNullException.ThrowIfNull(build);
        ArgumentNullException.ThrowIfNull(description);
        return new QatNetwork(description, inputShape, (input, outputs) =>
            build(input.Size, outputs) ?? throw new InvalidOperationException("The network builder returned null; it must return a new TorchSharp module."),
            builtIn: false);
    }

    /// <summary>Whether each feature vector is reshaped to (channels, height, width) before the network sees it.</summary>
    internal bool ReadsImages => _inputShape is not null;

    /// <summary>The per-sample shape the feature vector is read as: the network's own shape, or a flat vector.</summary>
    internal ActivationShape InputShape(int featureCount, string featureColumnName)
    {
        if (_inputShape is not { } shape)
            return ActivationShape.Vector(featureCount);
        if (shape.Size != featureCount)
            throw new ArgumentOutOfRangeException(featureColumnName,
                $"The network '{Description}' reads each sample as {shape} = {shape.Size} values, but column '{featureColumnName}' holds {featureCount}. " +
                "Give the network the shape of your images, or resize the feature vector.");
        return shape;
    }

    /// <summary>
    /// Builds the float network between a QuantStub and a DeQuantStub and checks that every layer can be converted to
    /// int8. The result belongs to the trainer (which disposes it): a custom builder's module is deep-copied, so a builder
    /// that hands out a module the caller keeps never sees it trained or disposed.
    /// </summary>
    internal Sequential Build(ActivationShape input, int outputs)
    {
        var network = _build(input, outputs);
        NetworkCheck.EnsureConvertible(network, Description);
        DryRun(network, input, outputs);
        if (_builtIn)
            return nn.Sequential(("quant", new QuantStub()), ("net", network), ("dequant", new DeQuantStub()));
        // The wrapper is not disposed: that would dispose the caller's module with it.
        var wrapped = nn.Sequential(("quant", new QuantStub()), ("net", network), ("dequant", new DeQuantStub()));
        return (Sequential)ModuleCloner.Clone(wrapped);
    }

    /// <summary>
    /// One forward pass on two rows of zeros (eval mode, no gradient, so nothing learns from it) before any training: a
    /// network built for another input or output size is refused here, naming the sizes, instead of failing inside
    /// TorchSharp mid-epoch or, worse, training and then failing at Evaluate.
    /// </summary>
    /// <exception cref="ArgumentException">The network does not take the input or does not return <paramref name="outputs"/> values per row.</exception>
    private void DryRun(nn.Module<Tensor, Tensor> network, ActivationShape input, int outputs)
    {
        bool training = network.training;
        network.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var x = ReadsImages ? zeros(2, input.Channels, input.Height, input.Width) : zeros(2, input.Size);
            Tensor y;
            try
            {
                y = network.call(x);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new ArgumentException(
                    $"The network '{Description}' does not take the data's rows of {input} = {input.Size} values ({(ReadsImages ? "images" : "feature vectors")}): " +
                    $"a forward pass failed with \"{e.Message.Split('\n')[0]}\". Build it for {input.Size} inputs (a custom builder receives that number as its first argument).", nameof(network), e);
            }
            if (y.Dimensions != 2 || y.shape[0] != 2 || y.shape[1] != outputs)
                throw new ArgumentException(
                    $"The network '{Description}' returns [{string.Join(", ", y.shape)}] for 2 rows; the task needs [2, {outputs}]: {outputs} output(s) per row " +
                    "(the class count for multiclass, 1 for binary and regression; a custom builder receives it as its second argument).", nameof(network));
        }
        finally
        {
            network.train(training);
        }
    }

    /// <inheritdoc />
    public override string ToString() => Description;
}
