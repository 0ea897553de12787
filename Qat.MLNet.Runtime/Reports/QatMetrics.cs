namespace Qat.MLNet.Reports;

/// <summary>Loss and (for classification) accuracy of a model over a data set.</summary>
/// <param name="Loss">Mean loss per row: cross-entropy (multiclass), log-loss of the logit (binary) or squared error (regression).</param>
/// <param name="Accuracy">Fraction of rows predicted right, in [0, 1]; null for regression.</param>
/// <param name="RowCount">Rows the figures cover.</param>
public sealed record QatMetrics(double Loss, double? Accuracy, long RowCount)
{
    /// <inheritdoc />
    public override string ToString() =>
        Accuracy is { } a ? FormattableString.Invariant($"loss {Loss:F4}, accuracy {a:P2} ({RowCount} rows)") : FormattableString.Invariant($"loss {Loss:F4} ({RowCount} rows)");
}
