// Qat.MLNet build support: writes copies of .NET assemblies in which every type, method and field is public.
//
// Why: ML.NET keeps what a third-party transformer needs for `mlContext.Model.Save/Load` internal
// (ModelSaveContext/ModelLoadContext members, LoadableClassAttribute, VersionInfo) and hides the catalogs'
// MLContext behind the internal IInternalCatalog. Qat.MLNet compiles against publicized copies of
// Microsoft.ML.Core.dll and Microsoft.ML.Data.dll and declares [IgnoresAccessChecksTo] for them, so the
// runtime lets those calls through (see ../shared/notes/platform.md, route B). Only the compiler sees the
// copies; at run time the real, signed assemblies load.
//
// How: visibility lives in the flags column of three ECMA-335 metadata tables (TypeDef, Field, MethodDef).
// Those columns have a fixed width, so the copy is the original file with a few bits changed in place: no
// metadata is rewritten and nothing else moves. The strong-name signature no longer matches, which neither
// Roslyn nor .NET checks. Private fields stay private (event backing fields share their event's name, and a
// public one would make the event ambiguous to the compiler); internal and protected fields become public.
//
// RoslynCodeTaskFactory compiles one source file per task against netstandard only (System.Reflection.Metadata
// is not reachable from it), so this file reads the few PE and metadata headers it needs itself, and holds the
// MSBuild task too (see Qat.MLNet.Publicize.targets). The tests compile it with QAT_MLNET_NO_MSBUILD_TASK and
// check the result with System.Reflection.Metadata.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Qat.MLNet.Build
{
    /// <summary>Makes a copy of an assembly whose types and methods, and non-private fields, are public (for compilation only).</summary>
    public static class AssemblyPublicizer
    {
        private const int TypeDefTable = 0x02, FieldTable = 0x04, MethodDefTable = 0x06;

        /// <summary>Writes the publicized copy of <paramref name="source"/> to <paramref name="destination"/>; returns how many rows changed.</summary>
        public static int Publicize(string source, string destination)
        {
            byte[] image = File.ReadAllBytes(source);
            int changed = Publicize(image, source);
            string temp = destination + ".tmp";
            File.WriteAllBytes(temp, image);
            if (File.Exists(destination))
                File.Delete(destination);
            File.Move(temp, destination);
            return changed;
        }

        /// <summary>Publicizes an assembly image in memory; returns how many rows changed.</summary>
        public static int Publicize(byte[] image, string name)
        {
            var tables = MetadataTables.Read(image, name);
            int changed = 0;
            // TypeDef: Flags (4 bytes) first. Visibility mask 0x7: 0 NotPublic, 1 Public, 2..7 nested kinds (2 = NestedPublic).
            for (int i = 0; i < tables.RowCount(TypeDefTable); i++)
            {
                int at = tables.RowOffset(TypeDefTable, i);
                uint flags = ReadUInt32(image, at);
                uint visibility = flags & 0x7u;
                uint wanted = visibility <= 1 ? 1u : 2u;
                if (visibility == wanted)
                    continue;
                WriteUInt32(image, at, (flags & ~0x7u) | wanted);
                changed++;
            }
            // Field: Flags (2 bytes) first. Access mask 0x7: 1 Private, 6 Public.
            for (int i = 0; i < tables.RowCount(FieldTable); i++)
            {
                int at = tables.RowOffset(FieldTable, i);
                ushort flags = ReadUInt16(image, at);
                int access = flags & 0x7;
                if (access == 6 || access == 1)
                    continue;
                WriteUInt16(image, at, (ushort)((flags & ~0x7) | 6));
                changed++;
            }
            // MethodDef: RVA (4), ImplFlags (2), Flags (2). Access mask 0x7, 6 Public.
            for (int i = 0; i < tables.RowCount(MethodDefTable); i++)
            {
                int at = tables.RowOffset(MethodDefTable, i) + 6;
                ushort flags = ReadUInt16(image, at);
                if ((flags & 0x7) == 6)
                    continue;
                WriteUInt16(image, at, (ushort)((flags & ~0x7) | 6));
                changed++;
            }
            return changed;
        }

        internal static ushort ReadUInt16(byte[] b, int at) => (ushort)(b[at] | b[at + 1] << 8);

        internal static uint ReadUInt32(byte[] b, int at) => (uint)(b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24);

        private static void WriteUInt16(byte[] image, int offset, ushort value)
        {
            image[offset] = (byte)value;
            image[offset + 1] = (byte)(value >> 8);
        }

        private static void WriteUInt32(byte[] image, int offset, uint value)
        {
            for (int i = 0; i < 4; i++)
                image[offset + i] = (byte)(value >> (8 * i));
        }
    }

    /// <summary>Where the first metadata tables (Module .. MethodDef) of a PE image start and how wide their rows are.</summary>
    internal sealed class MetadataTables
    {
        private readonly int[] _rows = new int[64];
        private readonly int[] _start = new int[7];
        private readonly int[] _rowSize = new int[7];

        public int RowCount(int table) => _rows[table];

        public int RowOffset(int table, int row) => _start[table] + row * _rowSize[table];

        public static MetadataTables Read(byte[] b, string name)
        {
            Exception Bad(string what) => new InvalidDataException($"'{name}' is not a .NET assembly this publicizer can read: {what}.");
            if (b.Length < 0x40 || b[0] != 'M' || b[1] != 'Z') throw Bad("no MZ header");
            int pe = (int)AssemblyPublicizer.ReadUInt32(b, 0x3C);
            if (pe < 0 || pe + 24 > b.Length || AssemblyPublicizer.ReadUInt32(b, pe) != 0x00004550) throw Bad("no PE signature");
            int sections = AssemblyPublicizer.ReadUInt16(b, pe + 6);
            int optionalSize = AssemblyPublicizer.ReadUInt16(b, pe + 20);
            int optional = pe + 24;
            ushort magic = AssemblyPublicizer.ReadUInt16(b, optional);
            int directories = magic == 0x10b ? optional + 96 : magic == 0x20b ? optional + 112 : throw Bad("unknown optional header");
            uint cliRva = AssemblyPublicizer.ReadUInt32(b, directories + 14 * 8);
            if (cliRva == 0) throw Bad("no CLI header");
            int sectionTable = optional + optionalSize;

            int ToOffset(uint rva)
            {
                for (int s = 0; s < sections; s++)
                {
                    int h = sectionTable + s * 40;
                    uint va = AssemblyPublicizer.ReadUInt32(b, h + 12), size = AssemblyPublicizer.ReadUInt32(b, h + 8), raw = AssemblyPublicizer.ReadUInt32(b, h + 20);
                    if (rva >= va && rva < va + Math.Max(size, AssemblyPublicizer.ReadUInt32(b, h + 16)))
                        return checked((int)(rva - va + raw));
                }
                throw Bad($"RVA 0x{rva:X} outside every section");
            }

            int cli = ToOffset(cliRva);
            int root = ToOffset(AssemblyPublicizer.ReadUInt32(b, cli + 8));
            if (AssemblyPublicizer.ReadUInt32(b, root) != 0x424A5342) throw Bad("no metadata signature");
            int versionLength = (int)AssemblyPublicizer.ReadUInt32(b, root + 12);
            int at = root + 16 + versionLength + 2;
            int streams = AssemblyPublicizer.ReadUInt16(b, at);
            at += 2;
            int tableStream = -1;
            for (int s = 0; s < streams; s++)
            {
                int offset = (int)AssemblyPublicizer.ReadUInt32(b, at);
                int nameStart = at + 8, nameEnd = nameStart;
                while (b[nameEnd] != 0) nameEnd++;
                string streamName = Encoding.ASCII.GetString(b, nameStart, nameEnd - nameStart);
                if (streamName == "#~") tableStream = root + offset;
                if (streamName == "#-") throw Bad("uncompressed (#-) metadata tables");
                at = nameStart + ((nameEnd - nameStart + 4) & ~3);
            }
            if (tableStream < 0) throw Bad("no #~ stream");

            var t = new MetadataTables();
            byte heapSizes = b[tableStream + 6];
            ulong valid = (ulong)AssemblyPublicizer.ReadUInt32(b, tableStream + 8) | (ulong)AssemblyPublicizer.ReadUInt32(b, tableStream + 12) << 32;
            at = tableStream + 24;
            for (int table = 0; table < 64; table++)
            {
                if ((valid & (1UL << table)) == 0) continue;
                t._rows[table] = (int)AssemblyPublicizer.ReadUInt32(b, at);
                at += 4;
            }
            int str = (heapSizes & 1) != 0 ? 4 : 2, guid = (heapSizes & 2) != 0 ? 4 : 2, blob = (heapSizes & 4) != 0 ? 4 : 2;
            int Index(int table) => t._rows[table] < 65536 ? 2 : 4;
            int Coded(int tagBits, params int[] tables)
            {
                int max = 0;
                foreach (int table in tables) max = Math.Max(max, t._rows[table]);
                return max < (1 << (16 - tagBits)) ? 2 : 4;
            }
            // ECMA-335 II.22: Module, TypeRef, TypeDef, FieldPtr, Field, MethodPtr, MethodDef.
            t._rowSize[0] = 2 + str + 3 * guid;
            t._rowSize[1] = Coded(2, 0x00, 0x1A, 0x23, 0x01) + 2 * str;
            t._rowSize[2] = 4 + 2 * str + Coded(2, 0x02, 0x01, 0x1B) + Index(0x04) + Index(0x06);
            t._rowSize[3] = Index(0x04);
            t._rowSize[4] = 2 + str + blob;
            t._rowSize[5] = Index(0x06);
            t._rowSize[6] = 4 + 2 + 2 + str + blob + Index(0x08);
            for (int table = 0; table < 7; table++)
            {
                t._start[table] = at;
                at += t._rows[table] * t._rowSize[table];
            }
            if (at > b.Length) throw Bad("tables run past the end of the file");
            return t;
        }
    }

#if !QAT_MLNET_NO_MSBUILD_TASK
    /// <summary>MSBuild task: publicizes each input assembly into <see cref="OutputDirectory"/>, skipping up-to-date copies.</summary>
    public sealed class PublicizeAssemblies : Microsoft.Build.Utilities.Task
    {
        /// <summary>The assemblies to publicize.</summary>
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Assemblies { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <summary>Where the copies go (created when missing).</summary>
        [Microsoft.Build.Framework.Required]
        public string OutputDirectory { get; set; } = "";

        /// <summary>The copies, carrying the metadata of their inputs.</summary>
        [Microsoft.Build.Framework.Output]
        public Microsoft.Build.Framework.ITaskItem[] Publicized { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <inheritdoc />
        public override bool Execute()
        {
            Directory.CreateDirectory(OutputDirectory);
            var outputs = new List<Microsoft.Build.Framework.ITaskItem>();
            foreach (Microsoft.Build.Framework.ITaskItem item in Assemblies)
            {
                string source = item.GetMetadata("FullPath");
                string destination = Path.Combine(OutputDirectory, Path.GetFileName(source));
                if (!File.Exists(destination) || File.GetLastWriteTimeUtc(destination) < File.GetLastWriteTimeUtc(source))
                {
                    int changed = AssemblyPublicizer.Publicize(source, destination);
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, $"Publicized {changed} rows of {source} into {destination}.");
                }
                var output = new Microsoft.Build.Utilities.TaskItem(destination);
                item.CopyMetadataTo(output);
                outputs.Add(output);
            }
            Publicized = outputs.ToArray();
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
