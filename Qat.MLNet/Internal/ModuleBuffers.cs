using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Qat.MLNet.Internal;

/// <summary>
/// Creates and rewrites the small buffers of quantization modules (observer statistics, scales, zero points, switches).
/// Buffers live as long as their module, so they are kept out of any caller's dispose scope.
/// </summary>
internal static class ModuleBuffers
{
    /// <summary>A new float32 buffer.</summary>
    public static Tensor Create(float[] values, params long[] shape)
        => torch.tensor(values, shape, ScalarType.Float32).DetachFromDisposeScope();

    /// <summary>A new int32 buffer.</summary>
    public static Tensor Create(int[] values, params long[] shape)
        => torch.tensor(values, shape, ScalarType.Int32).DetachFromDisposeScope();

    /// <summary>A new uint8 buffer.</summary>
    public static Tensor Create(byte[] values, params long[] shape)
        => torch.tensor(values, shape, ScalarType.Byte).DetachFromDisposeScope();

    /// <summary>
    /// Writes <paramref name="values"/> into <paramref name="field"/> in place when the shape and type fit; otherwise makes a
    /// new buffer, hands it to <paramref name="register"/> (the module's ConditionallyRegisterBuffer under the buffer's
    /// name), stores it in the field and disposes the old one. PyTorch resizes in place; TorchSharp has no resize_.
    /// </summary>
    public static void Write<T>(ref Tensor field, T[] values, long[] shape, Action<Tensor> register) where T : unmanaged
    {
        if (field.dtype == ScalarTypeOf<T>() && field.is_contiguous() && field.shape.SequenceEqual(shape))
        {
            values.CopyTo(MemoryMarshal.Cast<byte, T>(field.bytes));
            return;
        }
        var replacement = torch.empty(shape, ScalarTypeOf<T>()).DetachFromDisposeScope();
        values.CopyTo(MemoryMarshal.Cast<byte, T>(replacement.bytes));
        register(replacement);
        var old = field;
        field = replacement;
        old.Dispose();
    }

    /// <summary>
    /// Element <paramref name="index"/> of a small buffer, read straight from its memory (no temporary tensor: these are
    /// read on every forward); a buffer moved to another type or device is converted instead.
    /// </summary>
    public static T Read<T>(Tensor buffer, int index = 0) where T : unmanaged
    {
        if (buffer.dtype == ScalarTypeOf<T>() && buffer.device_type == DeviceType.CPU && buffer.is_contiguous())
            return MemoryMarshal.Cast<byte, T>(buffer.bytes)[index];
        using var scope = torch.NewDisposeScope();
        return buffer.to(ScalarTypeOf<T>()).cpu().contiguous().reshape(-1)[index].item<T>();
    }

    /// <summary>A one-element uint8 switch buffer (PyTorch's <c>fake_quant_enabled</c>, <c>observer_enabled</c>, ...) as a bool.</summary>
    public static bool ReadFlag(Tensor buffer) => Read<byte>(buffer) != 0;

    /// <summary>Sets a one-element uint8 switch buffer, as <see cref="Write{T}"/> does.</summary>
    public static void WriteFlag(ref Tensor field, bool value, Action<Tensor> register) =>
        Write(ref field, new[] { (byte)(value ? 1 : 0) }, new long[] { 1 }, register);

    private static ScalarType ScalarTypeOf<T>() => typeof(T) == typeof(float) ? ScalarType.Float32
        : typeof(T) == typeof(int) ? ScalarType.Int32
        : typeof(T) == typeof(byte) ? ScalarType.Byte
        : throw new NotSupportedException($"No buffer type for {typeof(T)}.");
}
