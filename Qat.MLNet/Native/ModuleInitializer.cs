using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Qat.MLNet.Native;

/// <summary>Runs when Qat.MLNet is first used, before any of its code can call TorchSharp.</summary>
internal static class ModuleInitializer
{
    /// <summary>Prepares TorchSharp's native library; a failure is kept for the entry points to throw, never thrown here.</summary>
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "TorchSharp's native library must be made loadable before the first TorchSharp call, whichever Qat.MLNet type the application touches first.")]
    internal static void Initialize() => LibTorchSharpLoader.TryEnsureLoaded();
}
