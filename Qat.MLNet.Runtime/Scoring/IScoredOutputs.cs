namespace Qat.MLNet.Scoring;

/// <summary>The model's float outputs for the row a getter is reading: one row's scorer, or the current row of a scored block.</summary>
internal interface IScoredOutputs
{
    /// <summary>The current row's outputs (NaN when its features were not finite and the policy is to score NaN).</summary>
    ReadOnlySpan<float> Outputs();
}
