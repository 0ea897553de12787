using TorchSharp;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules.Qat;

/// <summary>The shape settings of a 2-D convolution, read from a float TorchSharp Conv2d and checked for QAT support.</summary>
/// <param name="InChannels">Input channels.</param>
/// <param name="OutChannels">Output channels.</param>
/// <param name="KernelSize">Kernel height and width.</param>
/// <param name="Stride">Stride (height, width).</param>
/// <param name="Padding">Zero padding (height, width).</param>
/// <param name="Dilation">Dilation (height, width).</param>
/// <param name="Groups">Groups (1 = dense, in_channels = depthwise).</param>
public sealed record ConvGeometry(long InChannels, long OutChannels, long[] KernelSize, long[] Stride, long[] Padding, long[] Dilation, long Groups)
{
    /// <summary>Reads the settings of <paramref name="conv"/>.</summary>
    /// <exception cref="NotSupportedException">Padding given as "same"/"valid", a padding mode other than zeros, or a transposed convolution.</exception>
    public static ConvGeometry Of(TorchSharp.Modules.Conv2d conv)
    {
        ArgumentNullException.ThrowIfNull(conv);
        if (conv.transposed)
            throw new NotSupportedException("Transposed convolutions are not supported by QAT Conv2d.");
        if (conv.padding_mode != PaddingModes.Zeros)
            throw new NotSupportedException($"Conv2d padding mode {conv.padding_mode} is not supported: QAT and the int8 engine pad with zeros only.");
        if (conv.padding_type is not null || conv.padding is null)
            throw new NotSupportedException($"Conv2d padding given as {conv.padding_type}: give explicit padding sizes (e.g. padding: 1) instead.");
        return new ConvGeometry(conv.in_channels, conv.out_channels, Pair(conv.kernel_size), Pair(conv.stride), Pair(conv.padding),
            Pair(conv.dilation), conv.groups);
    }

    /// <summary><c>functional.conv2d</c> with these settings.</summary>
    public Tensor Apply(Tensor input, Tensor weight, Tensor? bias)
        => nn.functional.conv2d(input, weight, bias, Stride, Padding, Dilation, Groups);

    /// <summary>A new float TorchSharp Conv2d with these settings, its parameters replaced by <paramref name="weight"/> and <paramref name="bias"/>.</summary>
    public TorchSharp.Modules.Conv2d ToFloat(TorchSharp.Modules.Parameter weight, TorchSharp.Modules.Parameter? bias)
    {
        var conv = nn.Conv2d(InChannels, OutChannels, (KernelSize[0], KernelSize[1]), stride: (Stride[0], Stride[1]),
            padding: (Padding[0], Padding[1]), dilation: (Dilation[0], Dilation[1]), groups: Groups, bias: bias is not null);
        conv.weight = weight;
        if (bias is not null)
            conv.bias = bias;
        return conv;
    }

    private static long[] Pair(long[] values) => values.Length == 1 ? new[] { values[0], values[0] } : (long[])values.Clone();
}
