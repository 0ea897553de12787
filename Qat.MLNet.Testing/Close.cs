namespace Qat.MLNet.Testing;

/// <summary>The closeness check and its torch.testing-style failure.</summary>
internal static class Close
{
    public static void Check(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double rtol, double atol, string? message, string method, string expectedExpression, string actualExpression)
    {
        if (rtol < 0 || atol < 0 || double.IsNaN(rtol) || double.IsNaN(atol))
            throw new ArgumentOutOfRangeException(rtol < 0 || double.IsNaN(rtol) ? nameof(rtol) : nameof(atol), "Tolerances must be non-negative numbers.");
        if (expected.Length != actual.Length)
        {
            throw new FailureMessage("The values are not close: they differ in length.")
                .Line($"Expected {expected.Length} elements, actual {actual.Length}")
                .User(message)
                .Call(method, expectedExpression, actualExpression);
        }
        var c = Closeness.Of(expected, actual, rtol, atol);
        if (c.Mismatched == 0)
            return;
        int a = c.AbsoluteIndex, r = c.RelativeIndex;
        throw new FailureMessage("The values are not close.")
            .Line($"Mismatched elements: {c.Mismatched} / {c.Count} ({c.MismatchedPercent:F1} %)")
            .Line($"Greatest absolute difference: {c.GreatestAbsolute:G6} at index {a} (expected {expected[a]:G9}, actual {actual[a]:G9}; up to {atol:G6} allowed)")
            .Line($"Greatest relative difference: {c.GreatestRelative:G6} at index {r} (expected {expected[r]:G9}, actual {actual[r]:G9}; up to {rtol:G6} allowed)")
            .User(message)
            .Call(method, expectedExpression, actualExpression);
    }
}
