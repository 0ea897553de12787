namespace Qat.MLNet.Inference;

/// <summary>The size arithmetic every convolution of the engine (int8 and float) checks its settings with.</summary>
internal static class ConvolutionGeometry
{
    /// <summary>The output size along one axis (PyTorch's floor formula).</summary>
    /// <exception cref="ArgumentException">A setting is out of range, or the input is too small.</exception>
    public static int OutputSize(int input, int kernel, int stride, int pad, int dilation, string name)
    {
        if (kernel <= 0 || stride <= 0 || pad < 0 || dilation <= 0)
            throw new ArgumentException($"{name}: kernel {kernel}, stride {stride}, padding {pad} and dilation {dilation} must be positive (padding >= 0).");
        int size = (input + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
        if (size <= 0)
            throw new ArgumentException($"{name}: an input of size {input} is too small for kernel {kernel} with padding {pad} and dilation {dilation}.");
        return size;
    }

    /// <summary>Inputs summed per output value: in_channels / groups x kh x kw.</summary>
    /// <exception cref="ArgumentException">The groups do not divide the channels.</exception>
    public static int Reduction(ActivationShape input, int groups, int outChannels, int kernelHeight, int kernelWidth, string name)
    {
        if (groups <= 0 || input.Channels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"{name}: {groups} groups must divide the {input.Channels} input and {outChannels} output channels.");
        return checked(input.Channels / groups * kernelHeight * kernelWidth);
    }
}
