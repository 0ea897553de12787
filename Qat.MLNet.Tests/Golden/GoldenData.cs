using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Golden;

/// <summary>
/// Reference data computed by PyTorch (../shared/tools/gen_golden.py). Read from Golden/Data next to the test
/// assembly, or from the directory named by QAT_MLNET_GOLDEN_DIR (other seeds, other shapes).
/// </summary>
internal static class GoldenData
{
    /// <summary>The environment variable that points the Golden tests at another directory of the same files.</summary>
    public const string DirectoryVariable = "QAT_MLNET_GOLDEN_DIR";

    /// <summary>The directory the golden files are read from.</summary>
    public static string Directory
    {
        get
        {
            string? custom = Environment.GetEnvironmentVariable(DirectoryVariable);
            return string.IsNullOrWhiteSpace(custom) ? Path.Combine(AppContext.BaseDirectory, "Golden", "Data") : custom;
        }
    }

    /// <summary>Test display name: the case's name only (the JSON would make the name megabytes long).</summary>
    public static string DisplayName(System.Reflection.MethodInfo method, object?[] data) => $"{method.Name}({data[0]})";

    /// <summary>The cases of one golden file, e.g. "fake_quantize".</summary>
    public static IReadOnlyList<JsonElement> Cases(string name)
    {
        string path = Path.Combine(Directory, name + ".json");
        if (!File.Exists(path))
            Assert.Fail($"Golden file {path} is missing: make it with ../shared/tools/gen_golden.py or unset {DirectoryVariable}.");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone()).ToList();
    }

    /// <summary>The float32 values of a golden tensor, row-major.</summary>
    public static float[] Floats(JsonElement tensorOrList)
    {
        var data = tensorOrList.ValueKind == JsonValueKind.Object ? tensorOrList.GetProperty("data") : tensorOrList;
        return data.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
    }

    /// <summary>The integer values of a golden list.</summary>
    public static int[] Ints(JsonElement list) => list.EnumerateArray().Select(v => v.GetInt32()).ToArray();

    /// <summary>The shape of a golden tensor.</summary>
    public static long[] Shape(JsonElement tensor) => tensor.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray();

    /// <summary>A TorchSharp float32 tensor holding a golden tensor.</summary>
    public static Tensor ToTensor(JsonElement tensor) => torch.tensor(Floats(tensor), Shape(tensor), ScalarType.Float32);

    /// <summary>Asserts two float arrays are equal element by element as float32 bits (NaN equal to NaN).</summary>
    public static void AssertBitEqual(float[] expected, float[] actual, string what)
    {
        Assert.HasCount(expected.Length, actual, $"{what}: length");
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]) && !(expected[i] == actual[i]))
                Assert.Fail($"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
        }
    }
}
