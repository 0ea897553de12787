using System.Runtime.CompilerServices;

namespace Qat.MLNet.Testing;

/// <summary>
/// Static members on MSTest's <c>Assert</c> (C# 14 extension members) where they read better than <c>Assert.That</c>:
/// <c>Assert.AllClose(expected, actual)</c>, as torch's <c>allclose</c> and MSTest's <c>Assert.AreEqual</c> read. (Named
/// apart from <c>Assert.That.AreClose</c>, which VB and older C# call: the two forms of one name are ambiguous to C# 14.)
/// </summary>
public static class QatAssert
{
    extension(Assert)
    {
        /// <summary>torch.testing's <c>assert_close</c> for float arrays: every <c>|actual - expected| &lt;= atol + rtol x |expected|</c>.</summary>
        /// <param name="expected">Expected values.</param>
        /// <param name="actual">Actual values.</param>
        /// <param name="rtol">Relative tolerance; default 1.3e-6 (torch's float32).</param>
        /// <param name="atol">Absolute tolerance; default 1e-5.</param>
        /// <param name="message">Added to the failure message.</param>
        /// <param name="expectedExpression">Filled by the compiler.</param>
        /// <param name="actualExpression">Filled by the compiler.</param>
        /// <exception cref="AssertFailedException">Lengths differ or an element is further away.</exception>
        public static void AllClose(float[] expected, float[] actual, double rtol = 1.3e-6, double atol = 1e-5, string? message = null,
            [CallerArgumentExpression(nameof(expected))] string expectedExpression = "", [CallerArgumentExpression(nameof(actual))] string actualExpression = "")
        {
            ArgumentNullException.ThrowIfNull(expected);
            ArgumentNullException.ThrowIfNull(actual);
            Close.Check(expected, actual, rtol, atol, message, "Assert.AllClose", expectedExpression, actualExpression);
        }
    }
}
