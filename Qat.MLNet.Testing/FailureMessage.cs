using System.Globalization;
using System.Text;

namespace Qat.MLNet.Testing;

/// <summary>
/// Builds failures in MSTest 4's layout: "Assertion failed. what", then the numbers one per line, then the call as written
/// (from CallerArgumentExpression); thrown as <see cref="AssertFailedException"/>.
/// </summary>
internal sealed class FailureMessage
{
    private readonly StringBuilder _text = new();

    public FailureMessage(string what) => _text.Append("Assertion failed. ").Append(what);

    /// <summary>Adds a line of details.</summary>
    public FailureMessage Line(FormattableString line)
    {
        _text.AppendLine().Append(line.ToString(CultureInfo.InvariantCulture));
        return this;
    }

    /// <summary>Adds the user's message, when given.</summary>
    public FailureMessage User(string? message)
    {
        if (!string.IsNullOrEmpty(message))
            _text.AppendLine().Append(message);
        return this;
    }

    /// <summary>The call as the test wrote it, e.g. <c>Assert.That.ModelSizeAtMost(model, 300_000)</c>.</summary>
    public AssertFailedException Call(string method, params string[] arguments) =>
        new(_text.AppendLine().Append(method).Append('(').Append(string.Join(", ", arguments.Where(a => a.Length > 0))).Append(')').ToString());
}
