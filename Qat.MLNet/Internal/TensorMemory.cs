using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Qat.MLNet.Internal;

/// <summary>Raw access to the memory of contiguous CPU tensors, for the fused kernels.</summary>
internal static unsafe class TensorMemory
{
    /// <summary>The address of the first element of a contiguous CPU tensor (null when it has no elements).</summary>
    public static void* Pointer(Tensor t)
    {
        var bytes = t.bytes;
        return Unsafe.AsPointer(ref MemoryMarshal.GetReference(bytes));
    }

    /// <summary>Copies the elements of a small float32 tensor (any shape) to an array.</summary>
    public static float[] ToFloatArray(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        return t.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
    }

    /// <summary>Copies the elements of a small integer tensor (any shape) to an int array.</summary>
    public static int[] ToInt32Array(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        return t.detach().to(ScalarType.Int32).cpu().contiguous().data<int>().ToArray();
    }
}
