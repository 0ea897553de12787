using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Qat.MLNet.Build;

namespace Qat.MLNet.Tests.Build;

[TestClass]
public sealed class AssemblyPublicizerTests
{

    [TestMethod]
    [DataRow("Microsoft.ML.Core.dll")]
    [DataRow("Microsoft.ML.Data.dll")]
    public void Publicize_MlNetAssembly_MakesTypesAndMethodsPublicAndChangesNothingElse(string file)
    {
        string source = Path.Combine(Path.GetDirectoryName(typeof(Microsoft.ML.MLContext).Assembly.Location)!, file);
        string destination = Path.Combine(Path.GetTempPath(), $"publicized-{Guid.NewGuid():N}-{file}");
        try
        {
            int changed = AssemblyPublicizer.Publicize(source, destination);

            byte[] before = File.ReadAllBytes(source), after = File.ReadAllBytes(destination);
            Assert.HasCount(before.Length, after);
            Assert.IsGreaterThan(100, changed);
            using var pe = new PEReader(File.OpenRead(destination));
            var md = pe.GetMetadataReader();
            int typesChecked = 0, privateFields = 0;
            foreach (var handle in md.TypeDefinitions)
            {
                var type = md.GetTypeDefinition(handle);
                var visibility = type.Attributes & TypeAttributes.VisibilityMask;
                Assert.IsTrue(visibility is TypeAttributes.Public or TypeAttributes.NestedPublic, $"{md.GetString(type.Name)} is {visibility}");
                typesChecked++;
                foreach (var m in type.GetMethods())
                    Assert.AreEqual(MethodAttributes.Public, md.GetMethodDefinition(m).Attributes & MethodAttributes.MemberAccessMask);
                foreach (var f in type.GetFields())
                {
                    var access = md.GetFieldDefinition(f).Attributes & FieldAttributes.FieldAccessMask;
                    Assert.IsTrue(access is FieldAttributes.Public or FieldAttributes.Private);
                    privateFields += access == FieldAttributes.Private ? 1 : 0;
                }
            }
            Assert.IsGreaterThan(100, typesChecked);
            // Only flag bytes differ: every changed byte is one the publicizer may touch (at most 2 per changed row here).
            int differing = before.Zip(after, (a, b) => a != b ? 1 : 0).Sum();
            Assert.IsLessThanOrEqualTo(2 * changed, differing);
            // The original is untouched.
            using var original = new PEReader(File.OpenRead(source));
            var omd = original.GetMetadataReader();
            Assert.IsTrue(omd.TypeDefinitions.Any(h => (omd.GetTypeDefinition(h).Attributes & TypeAttributes.VisibilityMask) == TypeAttributes.NotPublic));
        }
        finally
        {
            File.Delete(destination);
        }
    }

    [TestMethod]
    public void Publicize_NotAnAssembly_SaysSo()
    {
        var e = Assert.Throws<InvalidDataException>(() => AssemblyPublicizer.Publicize(new byte[200], "junk.dll"));
        StringAssert.Contains(e.Message, "junk.dll");
        StringAssert.Contains(e.Message, "no MZ header");
    }
}
