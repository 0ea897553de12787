// Qat.MLNet build support: marks one symbol-version requirement of an ELF shared library as weak.
//
// Why: TorchSharp 0.107.0's libLibTorchSharp.so was linked by GCC 13 and requires the symbol version
// GLIBCXX_3.4.32 from libstdc++.so.6. Debian 12, Ubuntu 22.04 and every distribution with GCC < 13 stop at
// GLIBCXX_3.4.30, so the dynamic loader refuses the library and every TorchSharp call throws
// DllNotFoundException. The only symbol bound to that version is std::ios_base_library_init(), which GCC 13's
// <iostream> merely references and nothing calls. Setting VER_FLG_WEAK on that one Vernaux entry of
// .gnu.version_r turns the hard failure into a loader note; libtorch itself needs no more than GLIBCXX_3.4.26.
//
// RoslynCodeTaskFactory compiles exactly one source file per inline task, so this file holds both the ELF
// reader/patcher and, at its end, the thin MSBuild task that drives it (Qat.MLNet.NativePatch.targets).
// Qat.MLNet compiles it too, with QAT_MLNET_NO_MSBUILD_TASK defined (its types are then internal and the MSBuild task
// is left out): the run-time loader (Qat.MLNet/Native) makes the same verified edit on a private copy where a build could
// not. The tests reach it there and test the patcher on real and synthetic ELF files. It uses nothing beyond netstandard2.0's base class library.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Qat.MLNet.Build
{
    /// <summary>What <see cref="ElfVersionNeedPatcher.Patch"/> did to a file.</summary>
#if QAT_MLNET_NO_MSBUILD_TASK
    internal
#else
    public
#endif
    enum ElfPatchOutcome
    {
        /// <summary>The version requirement was strong and has been marked weak.</summary>
        Patched,

        /// <summary>The version requirement was already weak: nothing was written.</summary>
        AlreadyWeak,

        /// <summary>The file does not require the version at all: nothing was written.</summary>
        NotRequired,
    }

    /// <summary>One version requirement (an <c>Elf_Vernaux</c> record) read from <c>.gnu.version_r</c>.</summary>
#if QAT_MLNET_NO_MSBUILD_TASK
    internal
#else
    public
#endif
    sealed class ElfVersionRequirement
    {
        internal ElfVersionRequirement(string file, string version, ushort flags, ushort index, long flagsOffset, uint hash)
        {
            File = file;
            Version = version;
            Flags = flags;
            Index = index;
            FlagsOffset = flagsOffset;
            Hash = hash;
        }

        /// <summary>The needed library, e.g. <c>libstdc++.so.6</c> (<c>vn_file</c>).</summary>
        public string File { get; }

        /// <summary>The version name, e.g. <c>GLIBCXX_3.4.32</c> (<c>vna_name</c>).</summary>
        public string Version { get; }

        /// <summary>The <c>vna_flags</c> field; bit <see cref="ElfVersionNeedPatcher.VerFlagWeak"/> marks a weak requirement.</summary>
        public ushort Flags { get; }

        /// <summary>The version index that <c>.gnu.version</c> uses for symbols bound to this version (<c>vna_other</c>).</summary>
        public ushort Index { get; }

        /// <summary>The file offset of the two-byte <c>vna_flags</c> field.</summary>
        public long FlagsOffset { get; }

        /// <summary>The <c>vna_hash</c> field (the System V ELF hash of <see cref="Version"/>).</summary>
        public uint Hash { get; }

        /// <summary>Whether the requirement is weak.</summary>
        public bool IsWeak => (Flags & ElfVersionNeedPatcher.VerFlagWeak) != 0;
    }

    /// <summary>Thrown when a file is not the ELF shared library the patcher expects.</summary>
#if QAT_MLNET_NO_MSBUILD_TASK
    internal
#else
    public
#endif
    sealed class ElfFormatException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public ElfFormatException(string message) : base(message) { }
    }

    /// <summary>Reads symbol versioning tables of ELF files and marks a version requirement weak.</summary>
#if QAT_MLNET_NO_MSBUILD_TASK
    internal
#else
    public
#endif
    static class ElfVersionNeedPatcher
    {
        /// <summary><c>VER_FLG_WEAK</c> from elf.h.</summary>
        public const ushort VerFlagWeak = 0x2;

        private const uint ShtDynamic = 6;
        private const uint ShtDynsym = 11;
        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const uint ShtGnuVersym = 0x6fffffff;

        /// <summary>Lists every version requirement of <paramref name="path"/>.</summary>
        /// <exception cref="ElfFormatException">The file is not a well-formed little-endian ELF file with section headers.</exception>
        public static IReadOnlyList<ElfVersionRequirement> ReadRequirements(string path)
            => new ElfImage(path, System.IO.File.ReadAllBytes(path)).ReadRequirements();

        /// <summary>Lists the version names a library defines (<c>.gnu.version_d</c>), e.g. those of libstdc++.so.6.</summary>
        /// <exception cref="ElfFormatException">The file is not a well-formed little-endian ELF file with section headers.</exception>
        public static IReadOnlyList<string> ReadDefinedVersions(string path)
            => new ElfImage(path, System.IO.File.ReadAllBytes(path)).ReadDefinitions();

        /// <summary>Lists the libraries <paramref name="path"/> needs (<c>DT_NEEDED</c> entries of <c>.dynamic</c>), in file order.</summary>
        /// <exception cref="ElfFormatException">The file is malformed.</exception>
        public static IReadOnlyList<string> ReadNeededLibraries(string path)
            => new ElfImage(path, System.IO.File.ReadAllBytes(path)).ReadNeeded();

        /// <summary>Names the dynamic symbols of <paramref name="path"/> that are bound to the version requirement <paramref name="version"/>.</summary>
        /// <exception cref="ElfFormatException">The file is malformed.</exception>
        public static IReadOnlyList<string> ReadSymbolsBoundTo(string path, string version)
        {
            var image = new ElfImage(path, System.IO.File.ReadAllBytes(path));
            foreach (var r in image.ReadRequirements())
            {
                if (r.Version == version)
                    return image.ReadSymbolsWithVersionIndex(r.Index);
            }
            return Array.Empty<string>();
        }

        /// <summary>
        /// Marks the requirement <paramref name="version"/> of <paramref name="path"/> weak, after checking that only the
        /// symbols in <paramref name="allowedSymbols"/> are bound to it (a weak version is only safe for symbols that are
        /// never called). The file is rewritten through a temporary copy and a rename, so a hard link or symbolic link
        /// to another copy (such as the NuGet cache) is replaced, never written through. Idempotent.
        /// </summary>
        /// <param name="path">The library to patch.</param>
        /// <param name="version">The version name, e.g. <c>GLIBCXX_3.4.32</c>.</param>
        /// <param name="allowedSymbols">Symbols that may be bound to the version.</param>
        /// <exception cref="ElfFormatException">The file is malformed, has the version twice, or binds another symbol to it.</exception>
        public static ElfPatchOutcome Patch(string path, string version, IReadOnlyCollection<string> allowedSymbols)
        {
            var bytes = System.IO.File.ReadAllBytes(path);
            var image = new ElfImage(path, bytes);
            ElfVersionRequirement? target = null;
            foreach (var r in image.ReadRequirements())
            {
                if (r.Version != version)
                    continue;
                if (target != null)
                    throw new ElfFormatException($"{path}: the version {version} is required twice in .gnu.version_r; refusing to guess which entry to patch.");
                target = r;
            }
            if (target == null)
                return ElfPatchOutcome.NotRequired;

            foreach (var symbol in image.ReadSymbolsWithVersionIndex(target.Index))
            {
                bool allowed = false;
                foreach (var a in allowedSymbols)
                    allowed |= a == symbol;
                if (!allowed)
                    throw new ElfFormatException(
                        $"{path}: the symbol '{symbol}' is bound to {version}; marking that version weak would make it fail at run time. " +
                        "This library is not the one the patch was made for: use a libstdc++ that provides " + version + " (GCC 13 or later).");
            }

            if (target.IsWeak)
                return ElfPatchOutcome.AlreadyWeak;

            ushort flags = (ushort)(target.Flags | VerFlagWeak);
            bytes[target.FlagsOffset] = (byte)flags;
            bytes[target.FlagsOffset + 1] = (byte)(flags >> 8);

            // Verify the edit in memory before anything reaches the disk.
            var check = FindSingle(new ElfImage(path, bytes).ReadRequirements(), version, path);
            if (!check.IsWeak || check.FlagsOffset != target.FlagsOffset)
                throw new ElfFormatException($"{path}: internal error: the patched image does not read back as weak.");

            // The copy keeps the original's timestamp, so MSBuild's incremental copy sees it as up to date next time.
            DateTime lastWrite = System.IO.File.GetLastWriteTimeUtc(path);
            string temp = path + ".qatpatch.tmp";
            System.IO.File.Copy(path, temp, overwrite: true); // keeps the file mode (executable bits)
            try
            {
                using (var stream = new FileStream(temp, FileMode.Open, FileAccess.Write))
                {
                    stream.Position = target.FlagsOffset;
                    stream.Write(bytes, (int)target.FlagsOffset, 2);
                }
                System.IO.File.SetLastWriteTimeUtc(temp, lastWrite);
                System.IO.File.Replace(temp, path, null); // a rename: replaces the directory entry
            }
            finally
            {
                if (System.IO.File.Exists(temp))
                    System.IO.File.Delete(temp);
            }

            if (!FindSingle(ReadRequirements(path), version, path).IsWeak)
                throw new ElfFormatException($"{path}: the patched file does not read back as weak.");
            return ElfPatchOutcome.Patched;
        }

        /// <summary>The version requirement of libLibTorchSharp.so that GCC 12 and older libstdc++ lack.</summary>
        public const string LibTorchSharpGlibcxxVersion = "GLIBCXX_3.4.32";

        /// <summary>The only symbol TorchSharp 0.107's native library binds to <see cref="LibTorchSharpGlibcxxVersion"/>.</summary>
        public static readonly string[] LibTorchSharpAllowedSymbols = { "_ZSt21ios_base_library_initv" };

        /// <summary>
        /// Finds the system's <c>libstdc++.so.6</c> for the architecture of the running process: the first existing
        /// file among the usual multiarch and lib64 folders. Returns null when there is none.
        /// </summary>
        public static string? FindSystemLibStdCxx()
        {
            string[] dirs = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture switch
            {
                System.Runtime.InteropServices.Architecture.Arm64 => new[] { "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib" },
                _ => new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib" },
            };
            foreach (var dir in dirs)
            {
                string candidate = Path.Combine(dir, "libstdc++.so.6");
                if (System.IO.File.Exists(candidate))
                    return candidate;
            }
            return null;
        }

        /// <summary>Whether the library at <paramref name="libStdCxxPath"/> defines the symbol version <paramref name="version"/>.</summary>
        /// <exception cref="ElfFormatException">The file is malformed.</exception>
        public static bool Defines(string libStdCxxPath, string version)
        {
            foreach (var defined in ReadDefinedVersions(libStdCxxPath))
            {
                if (defined == version)
                    return true;
            }
            return false;
        }

        /// <summary>The System V ELF hash (<c>elf_hash</c>) that <c>vna_hash</c> holds.</summary>
        public static uint ElfHash(string name)
        {
            uint h = 0;
            foreach (byte b in Encoding.ASCII.GetBytes(name))
            {
                h = (h << 4) + b;
                uint g = h & 0xf0000000;
                if (g != 0)
                    h ^= g >> 24;
                h &= ~g;
            }
            return h;
        }

        private static ElfVersionRequirement FindSingle(IReadOnlyList<ElfVersionRequirement> all, string version, string path)
        {
            foreach (var r in all)
            {
                if (r.Version == version)
                    return r;
            }
            throw new ElfFormatException($"{path}: the version {version} is missing after the edit.");
        }

        /// <summary>A bounds-checked view of an ELF file's header, section headers and versioning sections.</summary>
        private sealed class ElfImage
        {
            private readonly string _path;
            private readonly byte[] _b;
            private readonly bool _is64;
            private readonly Section[] _sections;

            private readonly struct Section
            {
                public Section(uint name, uint type, long offset, long size, uint link, uint info, long entSize)
                {
                    Name = name; Type = type; Offset = offset; Size = size; Link = link; Info = info; EntSize = entSize;
                }
                public uint Name { get; }
                public uint Type { get; }
                public long Offset { get; }
                public long Size { get; }
                public uint Link { get; }
                public uint Info { get; }
                public long EntSize { get; }
            }

            public ElfImage(string path, byte[] bytes)
            {
                _path = path;
                _b = bytes;
                if (bytes.Length < 52 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
                    throw Bad("not an ELF file (no \\x7fELF magic)");
                if (bytes[4] != 1 && bytes[4] != 2)
                    throw Bad($"unknown ELF class {bytes[4]}");
                if (bytes[5] != 1)
                    throw Bad("big-endian ELF files are not supported");
                _is64 = bytes[4] == 2;
                if (_is64 && bytes.Length < 64)
                    throw Bad("truncated ELF header");

                long shoff = _is64 ? (long)U64(40) : U32(32);
                int shentsize = U16(_is64 ? 58 : 46);
                long shnum = U16(_is64 ? 60 : 48);
                long shstrndx = U16(_is64 ? 62 : 50);
                if (shoff == 0)
                    throw Bad("no section header table");
                if (shentsize != (_is64 ? 64 : 40))
                    throw Bad($"unexpected section header size {shentsize}");
                Check(shoff, shentsize, "section header 0");
                if (shnum == 0)
                    shnum = _is64 ? (long)U64(shoff + 32) : U32(shoff + 20); // extended numbering: sh_size of section 0
                if (shstrndx == 0xffff)
                    shstrndx = U32(shoff + (_is64 ? 40 : 24)); // SHN_XINDEX: sh_link of section 0
                if (shnum <= 0 || shnum > 1_000_000)
                    throw Bad($"implausible section count {shnum}");
                Check(shoff, shnum * shentsize, "section header table");

                _sections = new Section[shnum];
                for (long i = 0; i < shnum; i++)
                {
                    long h = shoff + i * shentsize;
                    _sections[i] = _is64
                        ? new Section(U32(h), U32(h + 4), (long)U64(h + 24), (long)U64(h + 32), U32(h + 40), U32(h + 44), (long)U64(h + 56))
                        : new Section(U32(h), U32(h + 4), U32(h + 16), U32(h + 20), U32(h + 24), U32(h + 28), U32(h + 36));
                    if (_sections[i].Type != 8 /* SHT_NOBITS */ && _sections[i].Type != 0)
                        Check(_sections[i].Offset, _sections[i].Size, $"section {i}");
                }
                if (shstrndx >= shnum)
                    throw Bad($"section name table index {shstrndx} out of range");
                ShStrNdx = shstrndx;
            }

            private long ShStrNdx { get; }

            public IReadOnlyList<ElfVersionRequirement> ReadRequirements()
            {
                var result = new List<ElfVersionRequirement>();
                int index = FindSection(ShtGnuVerneed, ".gnu.version_r");
                if (index < 0)
                    return result;
                var s = _sections[index];
                long end = s.Offset + s.Size;
                long vn = s.Offset;
                for (uint n = 0; n < s.Info; n++)
                {
                    CheckIn(vn, 16, s, "Verneed");
                    ushort vnVersion = U16(vn);
                    if (vnVersion != 1)
                        throw Bad($"Verneed version {vnVersion} at offset {vn} (expected 1)");
                    ushort count = U16(vn + 2);
                    string file = Str(s.Link, U32(vn + 4));
                    long aux = vn + U32(vn + 8);
                    for (int k = 0; k < count; k++)
                    {
                        CheckIn(aux, 16, s, "Vernaux");
                        string name = Str(s.Link, U32(aux + 8));
                        uint hash = U32(aux);
                        if (hash != ElfHash(name))
                            throw Bad($"Vernaux hash of {name} is 0x{hash:x8}, expected 0x{ElfHash(name):x8}");
                        result.Add(new ElfVersionRequirement(file, name, U16(aux + 4), U16(aux + 6), aux + 4, hash));
                        uint next = U32(aux + 12);
                        if (next == 0)
                            break;
                        aux += next;
                    }
                    uint vnNext = U32(vn + 12);
                    if (vnNext == 0)
                        break;
                    vn += vnNext;
                    if (vn >= end)
                        throw Bad("Verneed chain runs past its section");
                }
                return result;
            }

            public IReadOnlyList<string> ReadDefinitions()
            {
                var result = new List<string>();
                int index = FindSection(ShtGnuVerdef, ".gnu.version_d");
                if (index < 0)
                    return result;
                var s = _sections[index];
                long vd = s.Offset;
                for (uint n = 0; n < s.Info; n++)
                {
                    CheckIn(vd, 20, s, "Verdef");
                    uint aux = U32(vd + 12);
                    if (U16(vd + 6) > 0)
                    {
                        CheckIn(vd + aux, 8, s, "Verdaux");
                        result.Add(Str(s.Link, U32(vd + aux)));
                    }
                    uint next = U32(vd + 16);
                    if (next == 0)
                        break;
                    vd += next;
                }
                return result;
            }

            public IReadOnlyList<string> ReadSymbolsWithVersionIndex(ushort versionIndex)
            {
                var result = new List<string>();
                int versymIndex = FindSection(ShtGnuVersym, ".gnu.version");
                int dynsymIndex = FindSection(ShtDynsym, ".dynsym");
                if (versymIndex < 0 || dynsymIndex < 0)
                    throw Bad("a versioned library must have .gnu.version and .dynsym sections");
                var versym = _sections[versymIndex];
                var dynsym = _sections[dynsymIndex];
                long symSize = _is64 ? 24 : 16;
                if (dynsym.EntSize != symSize)
                    throw Bad($"unexpected .dynsym entry size {dynsym.EntSize}");
                long count = dynsym.Size / symSize;
                if (versym.Size != count * 2)
                    throw Bad($".gnu.version has {versym.Size / 2} entries for {count} dynamic symbols");
                for (long i = 0; i < count; i++)
                {
                    if ((U16(versym.Offset + 2 * i) & 0x7fff) == versionIndex)
                        result.Add(Str(dynsym.Link, U32(dynsym.Offset + i * symSize)));
                }
                return result;
            }

            public IReadOnlyList<string> ReadNeeded()
            {
                var result = new List<string>();
                int index = FindSection(ShtDynamic, ".dynamic");
                if (index < 0)
                    return result;
                var s = _sections[index];
                int entry = _is64 ? 16 : 8;
                for (long e = s.Offset; e + entry <= s.Offset + s.Size; e += entry)
                {
                    long tag = _is64 ? (long)U64(e) : U32(e);
                    if (tag == 0 /* DT_NULL */)
                        break;
                    if (tag == 1 /* DT_NEEDED */)
                        result.Add(Str(s.Link, _is64 ? (uint)U64(e + 8) : U32(e + 4)));
                }
                return result;
            }

            private int FindSection(uint type, string expectedName)
            {
                int found = -1;
                for (int i = 0; i < _sections.Length; i++)
                {
                    if (_sections[i].Type != type)
                        continue;
                    string name = Str((uint)ShStrNdx, _sections[i].Name);
                    if (name != expectedName)
                        throw Bad($"a section of type 0x{type:x} is named '{name}', expected '{expectedName}'");
                    if (found >= 0)
                        throw Bad($"two sections of type 0x{type:x}");
                    found = i;
                }
                return found;
            }

            private string Str(uint sectionIndex, uint offset)
            {
                if (sectionIndex >= _sections.Length)
                    throw Bad($"string table index {sectionIndex} out of range");
                var s = _sections[sectionIndex];
                if (s.Type != 3 /* SHT_STRTAB */)
                    throw Bad($"section {sectionIndex} is not a string table");
                if (offset >= s.Size)
                    throw Bad($"string offset {offset} outside its table");
                long start = s.Offset + offset;
                long end = start;
                long limit = s.Offset + s.Size;
                while (end < limit && _b[end] != 0)
                    end++;
                if (end == limit)
                    throw Bad("unterminated string");
                return Encoding.ASCII.GetString(_b, (int)start, (int)(end - start));
            }

            private void CheckIn(long offset, long size, Section s, string what)
            {
                if (offset < s.Offset || offset + size > s.Offset + s.Size)
                    throw Bad($"{what} record at offset {offset} lies outside its section");
            }

            private void Check(long offset, long size, string what)
            {
                if (offset < 0 || size < 0 || offset > _b.Length || size > _b.Length - offset)
                    throw Bad($"{what} (offset {offset}, size {size}) lies outside the file ({_b.Length} bytes)");
            }

            private ushort U16(long o) { Check(o, 2, "field"); return (ushort)(_b[o] | (_b[o + 1] << 8)); }

            private uint U32(long o) { Check(o, 4, "field"); return (uint)(_b[o] | (_b[o + 1] << 8) | (_b[o + 2] << 16) | (_b[o + 3] << 24)); }

            private ulong U64(long o) => U32(o) | ((ulong)U32(o + 4) << 32);

            private ElfFormatException Bad(string what) => new ElfFormatException($"{_path}: {what}.");
        }
    }

#if !QAT_MLNET_NO_MSBUILD_TASK
    /// <summary>
    /// MSBuild task: on Linux, where the system libstdc++ lacks GLIBCXX_3.4.32, marks that requirement of each given
    /// copy of libLibTorchSharp.so weak. Copies inside the NuGet package folder are refused, never patched.
    /// </summary>
    public sealed class PatchLibTorchSharpGlibcxx : Microsoft.Build.Utilities.Task
    {
        /// <summary>The copies of libLibTorchSharp.so in a build or publish output.</summary>
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <summary>The NuGet package folder, which must stay untouched.</summary>
        public string? NuGetPackageRoot { get; set; }

        /// <summary>The system libstdc++.so.6 to check; found in the usual folders when empty.</summary>
        public string? SystemLibStdCxx { get; set; }

        /// <inheritdoc />
        public override bool Execute()
        {
            if (Files.Length == 0)
                return true;
            try
            {
                string? libStdCxx = string.IsNullOrEmpty(SystemLibStdCxx) ? ElfVersionNeedPatcher.FindSystemLibStdCxx() : SystemLibStdCxx;
                string version = ElfVersionNeedPatcher.LibTorchSharpGlibcxxVersion;
                if (libStdCxx != null && ElfVersionNeedPatcher.Defines(libStdCxx, version))
                {
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, $"Qat.MLNet: {libStdCxx} provides {version}; libLibTorchSharp.so left as it is.");
                    return true;
                }
                if (libStdCxx == null)
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, "Qat.MLNet: no system libstdc++.so.6 found in the usual folders; patching anyway (a weak requirement is harmless where the version exists).");

                foreach (var item in Files)
                {
                    string path = Path.GetFullPath(item.ItemSpec);
                    if (!string.IsNullOrEmpty(NuGetPackageRoot) && path.StartsWith(Path.GetFullPath(NuGetPackageRoot!), StringComparison.Ordinal))
                    {
                        Log.LogError($"Qat.MLNet: refusing to patch {path}: it lies in the NuGet package folder {NuGetPackageRoot}, which must stay untouched.");
                        return false;
                    }
                    var outcome = ElfVersionNeedPatcher.Patch(path, version, ElfVersionNeedPatcher.LibTorchSharpAllowedSymbols);
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, $"Qat.MLNet: {path}: {version} {outcome} (system libstdc++ lacks it).");
                }
                return true;
            }
            catch (ElfFormatException e)
            {
                Log.LogError("Qat.MLNet: cannot make libLibTorchSharp.so load on this system's libstdc++: " + e.Message);
                return false;
            }
            catch (IOException e)
            {
                Log.LogError("Qat.MLNet: cannot patch libLibTorchSharp.so: " + e.Message);
                return false;
            }
        }
    }
#endif
}
