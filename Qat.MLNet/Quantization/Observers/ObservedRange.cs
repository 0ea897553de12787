using static TorchSharp.torch;

namespace Qat.MLNet.Quantization.Observers;

/// <summary>Reductions the observers share: the min and max of a tensor, overall or per channel.</summary>
internal static class ObservedRange
{
    /// <summary>min(x) and max(x) over all elements, in float32.</summary>
    public static (float Min, float Max) Of(Tensor x)
    {
        using var scope = NewDisposeScope();
        var values = x.detach();
        if (values.dtype != ScalarType.Float32)
            values = values.to(ScalarType.Float32);
        var (min, max) = values.aminmax();
        return (min.item<float>(), max.item<float>());
    }

    /// <summary>min and max of each slice of x along <paramref name="axis"/>, in float32 (PyTorch's permute, flatten, aminmax(dim=1)).</summary>
    public static (float[] Min, float[] Max) PerChannel(Tensor x, int axis)
    {
        using var scope = NewDisposeScope();
        var values = x.detach();
        if (values.dtype != ScalarType.Float32)
            values = values.to(ScalarType.Float32);
        var flat = values.movedim(new long[] { axis }, new long[] { 0 }).reshape(values.shape[axis], -1);
        var (min, max) = flat.aminmax(1);
        return (min.data<float>().ToArray(), max.data<float>().ToArray());
    }
}
