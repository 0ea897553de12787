using Microsoft.ML;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// A probe for data with repeated people (<c>tabular --grouped-holdout</c>): the trainer's defaults, but early-stopped on
/// 20 % of the training rows chosen by person (<c>TrainTestSplit</c> with the set's sampling key, passed as the
/// <c>ValidationSet</c>) instead of the trainer's own row-by-row holdout, which puts a person's other rows in training and
/// so rewards memorising them. Same share of rows held out as the defaults.
/// </summary>
internal sealed class GroupedHoldout : IEstimator<ITransformer>
{
    private readonly MLContext _ml;
    private readonly string _key;
    private readonly int _seed;
    private readonly Func<IDataView?, IEstimator<ITransformer>> _trainer;

    /// <param name="ml">The context.</param>
    /// <param name="key">The column whose equal values stay on one side.</param>
    /// <param name="seed">Seeds the split.</param>
    /// <param name="trainer">The trainer early-stopping on the given validation set.</param>
    public GroupedHoldout(MLContext ml, string key, int seed, Func<IDataView?, IEstimator<ITransformer>> trainer)
    {
        _ml = ml;
        _key = key;
        _seed = seed;
        _trainer = trainer;
    }

    public ITransformer Fit(IDataView input)
    {
        var split = _ml.Data.TrainTestSplit(input, testFraction: QatDefaults.ValidationFraction, samplingKeyColumnName: _key, seed: _seed + 1000);
        return _trainer(split.TestSet).Fit(split.TrainSet);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => _trainer(null).GetOutputSchema(inputSchema);
}
