using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>A sequence of float types that fuses into one module (PyTorch: <c>DEFAULT_OP_LIST_TO_FUSER_METHOD</c>).</summary>
/// <param name="Types">The exact types, in order.</param>
/// <param name="Fuse">Builds the fused module from the matched modules (which it takes over).</param>
internal sealed record FusionPattern(Type[] Types, Func<IReadOnlyList<nn.Module>, nn.Module<Tensor, Tensor>> Fuse)
{
    /// <summary>Whether <paramref name="modules"/> are exactly this pattern's types.</summary>
    public bool Matches(IReadOnlyList<nn.Module> modules) =>
        modules.Count == Types.Length && modules.Select(m => m.GetType()).SequenceEqual(Types);

    /// <inheritdoc />
    public override string ToString() => "[" + string.Join(", ", Types.Select(t => t.Name)) + "]";
}
