using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace Qat.MLNet.Tests.Onnx;

/// <summary>Runs an ONNX model in ONNX Runtime on one thread and reads the operators ONNX Runtime optimized it into.</summary>
internal static class OnnxRuntimeRunner
{
    /// <summary>Runs <paramref name="model"/> on float inputs; returns the named outputs' values as floats (bool and uint32 converted).</summary>
    public static Dictionary<string, float[]> Run(byte[] model, IReadOnlyDictionary<string, (float[] Values, long[] Shape)> inputs, params string[] outputs)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        var values = inputs.Values.Select(v => OrtValue.CreateTensorValueFromMemory(v.Values, v.Shape)).ToArray();
        try
        {
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, inputs.Keys.ToArray(), values, outputs);
            var read = new Dictionary<string, float[]>();
            for (int i = 0; i < outputs.Length; i++)
            {
                var result = results[i];
                var type = result.GetTensorTypeAndShape().ElementDataType;
                read[outputs[i]] = type switch
                {
                    TensorElementType.Float => result.GetTensorDataAsSpan<float>().ToArray(),
                    TensorElementType.UInt32 => result.GetTensorDataAsSpan<uint>().ToArray().Select(v => (float)v).ToArray(),
                    TensorElementType.Bool => result.GetTensorDataAsSpan<bool>().ToArray().Select(v => v ? 1f : 0f).ToArray(),
                    _ => throw new InvalidOperationException($"Output {outputs[i]} is {type}."),
                };
            }
            return read;
        }
        finally
        {
            foreach (var v in values)
                v.Dispose();
        }
    }

    /// <summary>Runs a single-input, single-output model.</summary>
    public static float[] Run(byte[] model, string input, float[] values, int batch, string output) =>
        Run(model, new Dictionary<string, (float[], long[])> { [input] = (values, new long[] { batch, values.Length / batch }) }, output)[output];

    /// <summary>The operator types (domain-qualified when not standard) of the model ONNX Runtime runs after its optimizations.</summary>
    public static List<string> OptimizedOperators(byte[] model)
    {
        string path = Path.Combine(Path.GetTempPath(), $"qat-ort-optimized-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = new SessionOptions { IntraOpNumThreads = 1, OptimizedModelFilePath = path, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED })
            using (new InferenceSession(model, options))
            {
            }
            var optimized = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            return optimized.Graph.Node.Select(n => string.IsNullOrEmpty(n.Domain) ? n.OpType : $"{n.Domain}.{n.OpType}").ToList();
        }
        finally
        {
            File.Delete(path);
        }
    }
}
