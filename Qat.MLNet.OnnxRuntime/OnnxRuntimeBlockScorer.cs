using Microsoft.ML.OnnxRuntime;
using Qat.MLNet.Inference;
using Qat.MLNet.Onnx;
using Qat.MLNet.Scoring;

namespace Qat.MLNet.OnnxRuntime;

/// <summary>
/// Scores blocks of rows with ONNX Runtime running the model's standalone export: the integer form by default, which
/// computes the int8 engine's own integers (Qat.MLNet.Onnx's tests hold it to equal outputs). One session, safe for
/// concurrent cursors. Qat.MLNet.Testing runs exports through it too.
/// </summary>
internal sealed class OnnxRuntimeBlockScorer : IBlockScorer, IDisposable
{
    private readonly InferenceSession _session;
    private readonly int _inputSize;
    private readonly int _outputSize;
    private readonly string[] _inputNames = ["input"];
    private readonly string[] _outputNames = ["output"];

    public OnnxRuntimeBlockScorer(QuantizedModel model, int intraOpThreads, QatOnnxForm form = QatOnnxForm.IntegerOperators)
    {
        using var stream = new MemoryStream();
        model.ExportToOnnx(stream, new QatOnnxExportOptions { Form = form });
        ExportBytes = stream.Length;
        using var options = new SessionOptions { IntraOpNumThreads = intraOpThreads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        // Between blocks the cursor reads rows on the calling thread; spinning pool threads would take its core
        // (Fashion-MNIST CNN, 20,000 rows, 2 threads, AMD EPYC: 528 ms spinning, 280 ms not).
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        _session = new InferenceSession(stream.ToArray(), options);
        _inputSize = model.InputSize;
        _outputSize = model.OutputSize;
    }

    /// <summary>Bytes of the export the session runs.</summary>
    public long ExportBytes { get; }

    /// <inheritdoc/>
    /// <remarks>ONNX Runtime's own intra-op threads (set when the session was made) do the parallel work.</remarks>
    public void Score(float[] inputs, float[] outputs, int rows, int threads)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(inputs, 0, rows * _inputSize), [rows, _inputSize]);
        using var output = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(outputs, 0, rows * _outputSize), [rows, _outputSize]);
        using var run = new RunOptions();
        _session.Run(run, _inputNames, [input], _outputNames, [output]);
    }

    public void Dispose() => _session.Dispose();
}
