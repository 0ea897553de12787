using System.Globalization;

namespace Qat.MLNet.Internal;

/// <summary>Argument checks that throw with the parameter's name, its value and the rule it broke.</summary>
internal static class Guard
{
    /// <summary>Throws when <paramref name="condition"/> is false: "{name} ({value}) {rule}".</summary>
    public static void Require(bool condition, string paramName, object? value, string rule)
    {
        if (!condition)
            throw new ArgumentException($"{paramName} ({Format(value)}) {rule}", paramName);
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when <paramref name="condition"/> is false.</summary>
    public static void InRange(bool condition, string paramName, object? value, string rule)
    {
        if (!condition)
            throw new ArgumentOutOfRangeException(paramName, value, $"{paramName} ({Format(value)}) {rule}");
    }

    /// <summary>Throws <see cref="ArgumentNullException"/> when <paramref name="value"/> is null.</summary>
    public static T NotNull<T>(T? value, string paramName) where T : class
        => value ?? throw new ArgumentNullException(paramName, $"{paramName} must not be null.");

    /// <summary>Formats a value the way the messages show it (invariant culture, floats round-trippable).</summary>
    public static string Format(object? value) => value switch
    {
        null => "null",
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
