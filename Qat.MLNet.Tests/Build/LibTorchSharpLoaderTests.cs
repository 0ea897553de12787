using System.Security.Cryptography;
using Qat.MLNet.Build;
using Qat.MLNet.Native;

namespace Qat.MLNet.Tests.Build;

/// <summary>The run-time loader's private patched copy (the end-to-end runs, ProjectReference from outside the repository included, are in build/consumers).</summary>
[TestClass]
public sealed class LibTorchSharpLoaderTests
{
    private const string Version = LibTorchSharpTestFiles.Version;
    private string _dir = null!;

    [TestInitialize]
    public void Init()
    {
        LibTorchSharpTestFiles.RequireLinuxBuildOutput();
        _dir = Directory.CreateTempSubdirectory("qat-loader-").FullName;
    }

    [TestCleanup]
    public void Cleanup()
    {
        if (_dir != null && Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    /// <summary>The library as TorchSharp ships it, in a folder of its own (the build output's copy is patched already).</summary>
    private string ShippedCopy()
    {
        string path = LibTorchSharpTestFiles.StrongCopy(Path.Combine(_dir, "app"));
        Assert.IsFalse(ElfVersionNeedPatcher.ReadRequirements(path).Single(r => r.Version == Version).IsWeak);
        return path;
    }

    [TestMethod]
    public void ThisProcess_LoadedTorchSharpWithoutFailure()
    {
        var result = LibTorchSharpLoader.EnsureLoaded();
        Assert.IsNull(result.Failure);
        Assert.AreSame(result, LibTorchSharpLoader.Result, "the work runs once per process");
    }

    [TestMethod]
    public void MakePrivateCopy_PatchesACopyAndLeavesTheOriginal()
    {
        string original = ShippedCopy();
        byte[] before = SHA256.HashData(File.ReadAllBytes(original));
        string cache = Path.Combine(_dir, "cache");

        string copy = LibTorchSharpLoader.MakePrivateCopy(original, cache);

        StringAssert.StartsWith(copy, cache + Path.DirectorySeparatorChar);
        Assert.IsTrue(ElfVersionNeedPatcher.ReadRequirements(copy).Single(r => r.Version == Version).IsWeak);
        CollectionAssert.AreEqual(before, SHA256.HashData(File.ReadAllBytes(original)), "the original is only read");
        Assert.AreEqual(copy, LibTorchSharpLoader.MakePrivateCopy(original, cache), "one copy per distinct original");
    }

    [TestMethod]
    public void MakePrivateCopy_ManyThreadsAtOnce_AgreeAndLeaveNoTemporaryFile()
    {
        string original = ShippedCopy();
        string cache = Path.Combine(_dir, "cache");
        var copies = new string[8];
        Parallel.For(0, copies.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => copies[i] = LibTorchSharpLoader.MakePrivateCopy(original, cache));

        Assert.HasCount(1, copies.Distinct());
        Assert.IsTrue(ElfVersionNeedPatcher.ReadRequirements(copies[0]).Single(r => r.Version == Version).IsWeak);
        Assert.IsEmpty(Directory.GetFiles(cache, "*.tmp", SearchOption.AllDirectories));
    }

    [TestMethod]
    public void MakePrivateCopy_NotAnElfFile_ThrowsNamingTheFileAndLeavesNothing()
    {
        string bogus = Path.Combine(_dir, "libLibTorchSharp.so");
        File.WriteAllText(bogus, "not a library");
        string cache = Path.Combine(_dir, "cache");

        var e = Assert.ThrowsExactly<ElfFormatException>(() => LibTorchSharpLoader.MakePrivateCopy(bogus, cache));
        StringAssert.Contains(e.Message, "not an ELF file");
        Assert.IsEmpty(Directory.GetFiles(cache, "*", SearchOption.AllDirectories), "no temporary or half-made copy is left");
    }
}
