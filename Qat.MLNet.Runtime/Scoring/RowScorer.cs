using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Inference;

namespace Qat.MLNet.Scoring;

/// <summary>
/// Runs the int8 model on the current row of an input row or cursor, once per row however many output columns are read:
/// reads the feature vector (dense or sparse), rejects NaN/Inf naming the row and slot, and keeps the raw outputs.
/// One instance per row/cursor (not thread-safe, like the row it reads).
/// </summary>
internal sealed class RowScorer : IScoredOutputs
{
    private readonly QuantizedModel _model;
    private readonly DataViewRow _input;
    private readonly string _featureName;
    private readonly ValueGetter<VBuffer<float>> _features;
    private readonly float[] _dense;
    private readonly float[] _outputs;
    private readonly NonFiniteFeatures _nonFinite;
    private VBuffer<float> _buffer;
    private long _scoredPosition = -1;
    private bool _scored;
    private int _inUse;

    public RowScorer(QuantizedModel model, DataViewRow input, DataViewSchema.Column feature, NonFiniteFeatures nonFinite)
    {
        _nonFinite = nonFinite;
        _model = model;
        _input = input;
        _featureName = feature.Name;
        _features = input.GetGetter<VBuffer<float>>(feature);
        _dense = new float[model.InputSize];
        _outputs = new float[model.OutputSize];
    }

    /// <summary>The model's raw outputs (logits or values) for the current input row.</summary>
    public ReadOnlySpan<float> Outputs()
    {
        // One scorer serves one cursor or one prediction engine, which ML.NET does not make thread-safe. Two threads inside
        // at once would mix their rows' features and scores without any error: say so instead (an Interlocked flag, a few ns).
        if (Interlocked.CompareExchange(ref _inUse, 1, 0) != 0)
            throw new InvalidOperationException(
                "A Qat transformer's row was scored by two threads at once: ML.NET's PredictionEngine (and a cursor) is not thread-safe, and sharing one " +
                "gives rows other rows' scores. Create one engine per thread, or use PredictionEnginePool (Microsoft.Extensions.ML) in a service.");
        try
        {
            return Score();
        }
        finally
        {
            Volatile.Write(ref _inUse, 0);
        }
    }

    private float[] Score()
    {
        long position = _input.Position;
        if (_scored && position == _scoredPosition)
            return _outputs;
        _features(ref _buffer);
        var values = FeatureColumn.CheckedValues(_buffer, _dense, _featureName, position, _nonFinite, out bool finite);
        if (!finite)
        {
            Array.Fill(_outputs, float.NaN);
        }
        else
        {
            _model.Run(values, _outputs, 1); // size and values checked above
        }
        _scoredPosition = position;
        _scored = true;
        return _outputs;
    }
}
