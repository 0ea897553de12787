using Qat.MLNet.Build;

namespace Qat.MLNet.Tests.Build;

/// <summary>The build output's libLibTorchSharp.so, and copies of it as TorchSharp ships it, for the patcher and loader tests.</summary>
internal static class LibTorchSharpTestFiles
{
    /// <summary>The version requirement the patch makes weak.</summary>
    public const string Version = ElfVersionNeedPatcher.LibTorchSharpGlibcxxVersion;

    /// <summary>The copy in this test assembly's build output (patched at build time where the system needs it).</summary>
    public static string BuildOutputCopy => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    /// <summary>Marks a test inconclusive off Linux x64, where there is no such file.</summary>
    public static void RequireLinuxBuildOutput()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(BuildOutputCopy))
            Assert.Inconclusive("Linux x64 build output only.");
    }

    /// <summary>A copy of the library in <paramref name="folder"/> with the requirement strong again, as TorchSharp ships it.</summary>
    public static string StrongCopy(string folder)
    {
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, "libLibTorchSharp.so");
        File.Copy(BuildOutputCopy, path, overwrite: true);
        var requirement = ElfVersionNeedPatcher.ReadRequirements(path).Single(r => r.Version == Version);
        var bytes = File.ReadAllBytes(path);
        ushort flags = (ushort)(requirement.Flags & ~ElfVersionNeedPatcher.VerFlagWeak);
        bytes[requirement.FlagsOffset] = (byte)flags;
        bytes[requirement.FlagsOffset + 1] = (byte)(flags >> 8);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
