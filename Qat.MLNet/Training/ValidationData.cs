using Microsoft.ML;

namespace Qat.MLNet.Training;

/// <summary>The validation set and its columns.</summary>
internal sealed record ValidationData(IDataView Data, DataViewSchema.Column Feature, DataViewSchema.Column Label);
