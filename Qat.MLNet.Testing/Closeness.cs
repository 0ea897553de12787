namespace Qat.MLNet.Testing;

/// <summary>
/// torch.testing's closeness, element by element: <c>|actual - expected| &lt;= atol + rtol x |expected|</c>; NaN matches NaN
/// only when both are NaN; infinities must be equal. Reports the mismatched count and the greatest differences.
/// </summary>
internal readonly record struct Closeness(int Mismatched, int Count, double GreatestAbsolute, int AbsoluteIndex, double GreatestRelative, int RelativeIndex)
{
    public static Closeness Of(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double rtol, double atol)
    {
        int mismatched = 0, absIndex = -1, relIndex = -1;
        double greatestAbs = 0, greatestRel = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            bool close;
            double abs;
            if (double.IsNaN(e) || double.IsNaN(a))
            {
                close = double.IsNaN(e) && double.IsNaN(a);
                abs = close ? 0 : double.NaN;
            }
            else if (double.IsInfinity(e) || double.IsInfinity(a))
            {
                close = e == a;
                abs = close ? 0 : double.PositiveInfinity;
            }
            else
            {
                abs = Math.Abs(a - e);
                close = abs <= atol + rtol * Math.Abs(e);
            }
            if (!close)
                mismatched++;
            // Equal NaNs and equal infinities differ by nothing, relatively too.
            double rel = abs == 0 ? 0 : e == 0 ? double.PositiveInfinity : abs / Math.Abs(e);
            if (absIndex < 0 || Greater(abs, greatestAbs))
                (greatestAbs, absIndex) = (abs, i);
            if (relIndex < 0 || Greater(rel, greatestRel))
                (greatestRel, relIndex) = (rel, i);
        }
        return new Closeness(mismatched, expected.Length, greatestAbs, absIndex, greatestRel, relIndex);
    }

    /// <summary>x &gt; y, a NaN (a NaN against a number) being the greatest.</summary>
    private static bool Greater(double x, double y) => double.IsNaN(x) ? !double.IsNaN(y) : x > y;

    public double MismatchedPercent => Count == 0 ? 0 : 100.0 * Mismatched / Count;
}
