using Qat.MLNet.Build;

namespace Qat.MLNet.Tests.Build;

/// <summary>The ELF patch that lets libLibTorchSharp.so load on libstdc++ older than GCC 13.</summary>
[TestClass]
public sealed class ElfVersionNeedPatcherTests
{
    private const string Version = LibTorchSharpTestFiles.Version;
    private string _dir = null!;

    private static string BuildOutputCopy => LibTorchSharpTestFiles.BuildOutputCopy;

    [TestInitialize]
    public void Init()
    {
        LibTorchSharpTestFiles.RequireLinuxBuildOutput();
        _dir = Directory.CreateTempSubdirectory("qat-elf-").FullName;
    }

    [TestCleanup]
    public void Cleanup()
    {
        if (_dir != null && Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    private string StrongCopy() => LibTorchSharpTestFiles.StrongCopy(_dir);

    [TestMethod]
    public void BuildOutput_OnSystemWithoutTheVersion_IsPatchedWeak()
    {
        string? libStdCxx = ElfVersionNeedPatcher.FindSystemLibStdCxx();
        Assert.IsNotNull(libStdCxx, "a Linux test machine has libstdc++.so.6");
        bool systemHasIt = ElfVersionNeedPatcher.Defines(libStdCxx, Version);
        var requirement = ElfVersionNeedPatcher.ReadRequirements(BuildOutputCopy).Single(r => r.Version == Version);
        Assert.AreEqual("libstdc++.so.6", requirement.File);
        if (!systemHasIt)
            Assert.IsTrue(requirement.IsWeak, "the build must have marked GLIBCXX_3.4.32 weak in its output copy");
    }

    [TestMethod]
    public void SystemLibStdCxx_DefinesVersions_ReadsGlibcxxBase()
    {
        var versions = ElfVersionNeedPatcher.ReadDefinedVersions(ElfVersionNeedPatcher.FindSystemLibStdCxx()!);
        CollectionAssert.Contains(versions.ToList(), "GLIBCXX_3.4");
    }

    [TestMethod]
    public void Patch_StrongRequirement_MarksOnlyThatEntryWeakAndIsIdempotent()
    {
        string path = StrongCopy();
        var before = ElfVersionNeedPatcher.ReadRequirements(path);
        Assert.IsFalse(before.Single(r => r.Version == Version).IsWeak);
        byte[] original = File.ReadAllBytes(path);

        Assert.AreEqual(ElfPatchOutcome.Patched, ElfVersionNeedPatcher.Patch(path, Version, ElfVersionNeedPatcher.LibTorchSharpAllowedSymbols));

        var after = ElfVersionNeedPatcher.ReadRequirements(path);
        Assert.IsTrue(after.Single(r => r.Version == Version).IsWeak);
        foreach (var (b, a) in before.Zip(after).Where(p => p.First.Version != Version))
            Assert.AreEqual(b.Flags, a.Flags, b.Version + " must stay as it was");
        byte[] patched = File.ReadAllBytes(path);
        Assert.AreEqual(original.Length, patched.Length);
        Assert.AreEqual(1, original.Zip(patched).Count(p => p.First != p.Second), "exactly one byte changes");

        Assert.AreEqual(ElfPatchOutcome.AlreadyWeak, ElfVersionNeedPatcher.Patch(path, Version, ElfVersionNeedPatcher.LibTorchSharpAllowedSymbols));
        CollectionAssert.AreEqual(patched, File.ReadAllBytes(path));
    }

    [TestMethod]
    public void Patch_HardLinkedFile_LeavesTheOtherLinkUntouched()
    {
        string original = StrongCopy();
        string link = Path.Combine(_dir, "linked.so");
        var ln = System.Diagnostics.Process.Start("ln", new[] { original, link });
        ln.WaitForExit();
        Assert.AreEqual(0, ln.ExitCode);
        byte[] before = File.ReadAllBytes(original);

        ElfVersionNeedPatcher.Patch(link, Version, ElfVersionNeedPatcher.LibTorchSharpAllowedSymbols);

        CollectionAssert.AreEqual(before, File.ReadAllBytes(original), "the patch must never write through a hard link (the NuGet cache)");
        Assert.IsTrue(ElfVersionNeedPatcher.ReadRequirements(link).Single(r => r.Version == Version).IsWeak);
    }

    [TestMethod]
    public void Patch_SymbolNotAllowed_RefusesAndLeavesFile()
    {
        string path = StrongCopy();
        byte[] before = File.ReadAllBytes(path);
        var e = Assert.ThrowsExactly<ElfFormatException>(() => ElfVersionNeedPatcher.Patch(path, Version, new[] { "some_other_symbol" }));
        StringAssert.Contains(e.Message, "_ZSt21ios_base_library_initv");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(path));
    }

    [TestMethod]
    public void Patch_VersionNotRequired_ReportsNotRequired()
    {
        string path = StrongCopy();
        Assert.AreEqual(ElfPatchOutcome.NotRequired, ElfVersionNeedPatcher.Patch(path, "GLIBCXX_9.9.99", Array.Empty<string>()));
    }

    [TestMethod]
    public void SymbolsBoundTo_Glibcxx3432_IsOnlyIosBaseLibraryInit()
    {
        CollectionAssert.AreEqual(ElfVersionNeedPatcher.LibTorchSharpAllowedSymbols,
            ElfVersionNeedPatcher.ReadSymbolsBoundTo(BuildOutputCopy, Version).ToArray());
    }

    [TestMethod]
    [DataRow("not an ELF file")]
    [DataRow("truncated")]
    [DataRow("bad section table")]
    [DataRow("wrong hash")]
    [DataRow("big endian")]
    public void Patch_MalformedFile_ThrowsElfFormatExceptionAndWritesNothing(string corruption)
    {
        string path = StrongCopy();
        var requirement = ElfVersionNeedPatcher.ReadRequirements(path).Single(r => r.Version == Version);
        byte[] bytes = File.ReadAllBytes(path);
        switch (corruption)
        {
            case "not an ELF file": bytes[1] = (byte)'X'; break;
            case "truncated": bytes = bytes[..40000]; break;
            case "bad section table": BitConverter.GetBytes((ulong)bytes.Length * 2).CopyTo(bytes, 40); break;
            case "wrong hash": bytes[requirement.FlagsOffset - 4] ^= 0x55; break;
            case "big endian": bytes[5] = 2; break;
        }
        File.WriteAllBytes(path, bytes);

        var e = Assert.ThrowsExactly<ElfFormatException>(() => ElfVersionNeedPatcher.Patch(path, Version, ElfVersionNeedPatcher.LibTorchSharpAllowedSymbols));
        StringAssert.StartsWith(e.Message, path);
        CollectionAssert.AreEqual(bytes, File.ReadAllBytes(path));
    }

    [TestMethod]
    public void ElfHash_KnownNames_MatchesSystemVHash()
    {
        Assert.AreEqual(0x0297f842u, ElfVersionNeedPatcher.ElfHash("GLIBCXX_3.4.32"));
        Assert.AreEqual(0u, ElfVersionNeedPatcher.ElfHash(""));
    }
}
