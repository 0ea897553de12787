using Qat.MLNet.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace Qat.MLNet.Quantization;

/// <summary>
/// Loads saved state into models that contain observers and <see cref="FakeQuantize"/> modules, whose per-channel
/// buffers change shape during training (PyTorch handles this in <c>_load_from_state_dict</c>).
/// </summary>
public static class QuantizationState
{
    /// <summary>
    /// Resizes the quantization buffers of every module under <paramref name="root"/> to the shapes in
    /// <paramref name="source"/>, so that TorchSharp's <c>load_state_dict</c> can copy into them.
    /// </summary>
    /// <param name="root">The model (or a single quantization module).</param>
    /// <param name="source">A state dict, e.g. from <c>state_dict()</c> of a trained model.</param>
    public static void ResizeBuffersToMatch(nn.Module root, IReadOnlyDictionary<string, Tensor> source)
    {
        Guard.NotNull(root, nameof(root));
        Guard.NotNull(source, nameof(source));
        if (root is IQuantStateResizable self)
            self.ResizeBuffersFor(source, "");
        foreach (var (name, module) in root.named_modules())
        {
            if (module is IQuantStateResizable resizable && !ReferenceEquals(module, root))
                resizable.ResizeBuffersFor(source, name + ".");
        }
    }

    /// <summary><see cref="ResizeBuffersToMatch"/>, then TorchSharp's <c>load_state_dict</c>.</summary>
    /// <param name="root">The model.</param>
    /// <param name="source">The state dict.</param>
    /// <param name="strict">Whether the keys must match exactly.</param>
    /// <returns>The missing and unexpected keys.</returns>
    public static (IList<string> MissingKeys, IList<string> UnexpectedKeys) LoadStateDict(nn.Module root, Dictionary<string, Tensor> source, bool strict = true)
    {
        ResizeBuffersToMatch(root, source);
        var (missing, unexpected) = root.load_state_dict(source, strict);
        return (missing, unexpected);
    }

    /// <summary>
    /// Reads a state dict written by TorchSharp's <c>Module.save</c> (entry count, then name and tensor per entry) and
    /// loads it with <see cref="LoadStateDict"/>. Use this instead of <c>Module.load</c> for models with per-channel
    /// quantization state.
    /// </summary>
    /// <param name="root">The model.</param>
    /// <param name="stream">The saved state; left open.</param>
    /// <param name="strict">Whether the keys must match exactly.</param>
    /// <exception cref="InvalidDataException">The stream is not a TorchSharp state dict.</exception>
    public static void Load(nn.Module root, Stream stream, bool strict = true)
    {
        Guard.NotNull(stream, nameof(stream));
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        var source = new Dictionary<string, Tensor>();
        try
        {
            long count = ReadUnsignedLeb128(reader);
            if (count < 0 || count > 1_000_000)
                throw new InvalidDataException($"The stream claims {count} state entries: it is not a TorchSharp state dict.");
            for (long i = 0; i < count; i++)
            {
                string key = reader.ReadString();
                source[key] = TensorExtensionMethods.Load(reader, false);
            }
            LoadStateDict(root, source, strict);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("The state stream ends early: it is truncated or not a TorchSharp state dict.", e);
        }
        finally
        {
            foreach (var t in source.Values)
                t.Dispose();
        }
    }

    private static long ReadUnsignedLeb128(BinaryReader reader)
    {
        long result = 0;
        for (int shift = 0; shift < 63; shift += 7)
        {
            byte b = reader.ReadByte();
            result |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
                return result;
        }
        throw new InvalidDataException("The entry count is not a valid LEB128 number.");
    }
}
