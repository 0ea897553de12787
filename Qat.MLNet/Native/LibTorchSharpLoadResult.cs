namespace Qat.MLNet.Native;

/// <summary>What <see cref="LibTorchSharpLoader.EnsureLoaded"/> did in this process.</summary>
public sealed class LibTorchSharpLoadResult
{
    private LibTorchSharpLoadResult(string reason, string? original, string? privateCopy, string? failure)
    {
        Reason = reason;
        OriginalPath = original;
        PrivateCopyPath = privateCopy;
        Failure = failure;
    }

    /// <summary>Why nothing was needed, or what was loaded; for logs.</summary>
    public string Reason { get; }

    /// <summary>The <c>libLibTorchSharp.so</c> the runtime would have loaded, when a private copy was made of it.</summary>
    public string? OriginalPath { get; }

    /// <summary>The patched private copy that was loaded in its place, or null when none was needed.</summary>
    public string? PrivateCopyPath { get; }

    /// <summary>The failure message, or null when TorchSharp's native library can load.</summary>
    public string? Failure { get; }

    /// <inheritdoc />
    public override string ToString() => Failure ?? Reason;

    internal static LibTorchSharpLoadResult NotNeeded(string reason) => new($"no private copy needed: {reason}", null, null, null);

    internal static LibTorchSharpLoadResult Loaded(string original, string copy) =>
        new($"loaded the patched private copy {copy} of {original}", original, copy, null);

    internal static LibTorchSharpLoadResult Failed(string failure) => new(failure, null, null, failure);
}
