using Microsoft.ML;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// A probe for data with repeated people (<c>tabular --grouped-holdout</c>): the trainer's defaults, but early-stopped on
/// 20 % of the training rows chosen by person (<c>TrainTestSplit</c> with the set's sampling key, passed as the
/// <c>ValidationSet</c>) instead of the trainer's own row-by-row holdout, which puts a person's other rows in training and
/// so rewards memorising them. Same share of rows held out as the defaults.
/// </summary>
internal sealed class GroupedHoldout<TOptions> : IEstimator<ITransformer> where TOptions : QatTrainerOptions, new()
{
    private readonly MLContext _ml;
    private readonly string _key;
    private readonly int _seed;
    private readonly Func<TOptions, IEstimator<ITransformer>> _trainer;

    public GroupedHoldout(MLContext ml, string key, int seed, Func<TOptions, IEstimator<ITransformer>> trainer)
    {
        _ml = ml;
        _key = key;
        _seed = seed;
        _trainer = trainer;
    }

    public ITransformer Fit(IDataView input)
    {
        var split = _ml.Data.TrainTestSplit(input, testFraction: QatDefaults.ValidationFraction, samplingKeyColumnName: _key, seed: _seed + 1000);
        return _trainer(new TOptions { ValidationSet = split.TestSet }).Fit(split.TrainSet);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => _trainer(new TOptions()).GetOutputSchema(inputSchema);
}
