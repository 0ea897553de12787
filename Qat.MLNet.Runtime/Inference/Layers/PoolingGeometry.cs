namespace Qat.MLNet.Inference;

/// <summary>Output sizes of pooling windows, PyTorch's formula (including <c>ceil_mode</c>).</summary>
internal static class PoolingGeometry
{
    public static int OutputSize(int input, int kernel, int stride, int pad, int dilation, bool ceilMode, string name)
    {
        if (kernel <= 0 || stride <= 0 || pad < 0 || dilation <= 0 || pad * 2 > kernel)
            throw new ArgumentException($"{name}: kernel {kernel}, stride {stride}, padding {pad}, dilation {dilation} are not a valid pooling window.");
        int numerator = input + 2 * pad - dilation * (kernel - 1) - 1;
        int size = (ceilMode ? (numerator + stride - 1) / stride : numerator / stride) + 1;
        if (ceilMode && (size - 1) * stride >= input + pad)
            size--; // the last window must start inside the input or the left padding
        if (size <= 0)
            throw new ArgumentException($"{name}: an input of size {input} is too small for a pooling window of {kernel}.");
        return size;
    }
}
