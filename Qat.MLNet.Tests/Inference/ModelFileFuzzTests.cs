using Qat.MLNet.Inference;
using Qat.MLNet.Quantization;
using Qat.MLNet.Tests.Onnx;

namespace Qat.MLNet.Tests.Inference;

/// <summary>
/// Fuzz test of the model format: 3,000 mutations of two valid files (a CNN with every layer kind, an MLP with feature
/// standardization), each loaded and, when it loads, predicted, saved and reloaded, in a child process, so that a crash
/// fails this test (naming the file) instead of killing the run. Every file must load or be refused with InvalidDataException.
/// </summary>
[TestClass]
[DoNotParallelize] // the seed networks seed TorchSharp's global generator
public sealed class ModelFileFuzzTests
{
    [TestMethod]
    public void Load_MutatedModelFiles_LoadOrAreRefusedWithInvalidDataException_NeverCrash()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"qat-fuzz-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            var mlp = OnnxTestModels.Mlp(QuantBackend.Fbgemm);
            var standardized = new QuantizedModel(mlp.InputShape, mlp.Input, mlp.Layers, mlp.Output,
                new FeatureStandardization(Enumerable.Range(0, mlp.InputSize).Select(i => 0.1f * i).ToArray(), Enumerable.Repeat(2f, mlp.InputSize).ToArray()));
            var seeds = new[] { QuantizedModelTests.SmallConvertedCnn(), standardized };
            int n = 0;
            for (int s = 0; s < seeds.Length; s++)
            {
                using var stream = new MemoryStream();
                seeds[s].Save(stream);
                foreach (var file in ModelFileFuzzer.Mutations(stream.ToArray(), 1500, seed: 100 + s))
                    File.WriteAllBytes(Path.Combine(folder, $"m{s}-{n++:D4}.qatm"), file);
            }

            var (exitCode, lines) = ModelFileFuzzer.RunChild(folder, TimeSpan.FromMinutes(5));
            var started = lines.Where(l => l.StartsWith("start ", StringComparison.Ordinal)).Select(l => l[6..]).ToList();
            var finished = lines.Where(l => l.StartsWith("loaded ", StringComparison.Ordinal) || l.StartsWith("refused ", StringComparison.Ordinal) || l.StartsWith("BAD ", StringComparison.Ordinal))
                .Select(l => l.Split(' ', 3)[1].TrimEnd(':')).ToHashSet();
            string? crashed = started.FirstOrDefault(f => !finished.Contains(f));
            var bad = lines.Where(l => l.StartsWith("BAD ", StringComparison.Ordinal)).ToList();
            int loaded = lines.Count(l => l.StartsWith("loaded ", StringComparison.Ordinal)), refused = lines.Count(l => l.StartsWith("refused ", StringComparison.Ordinal));
            Console.WriteLine($"{n} mutated files: {loaded} loaded and predicted, {refused} refused with InvalidDataException, {bad.Count} failed otherwise; child exit code {exitCode}");
            Assert.IsNull(crashed, $"the child process died on {crashed} (exit code {exitCode}): {string.Join(" | ", lines.TakeLast(3))}");
            Assert.IsEmpty(bad, string.Join("\n", bad.Take(20)));
            Assert.AreEqual(n, loaded + refused, string.Join("\n", lines.TakeLast(5)));
            Assert.AreEqual(0, exitCode);
            Assert.IsGreaterThan(0, loaded, "some mutations (a changed weight, scale or bias) must still load");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
