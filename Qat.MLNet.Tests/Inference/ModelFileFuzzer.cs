using System.Buffers.Binary;
using System.Diagnostics;
using Qat.MLNet.Inference;

namespace Qat.MLNet.Tests.Inference;

/// <summary>
/// The child-process half of the model-file fuzz test: loads every file of a folder, predicts with what loads, and
/// reports one line per file. A crash of this process (what the test guards against) leaves a "start" line without its
/// result, naming the file.
/// </summary>
public static class ModelFileFuzzer
{
    /// <summary>The command of the test assembly's entry point.</summary>
    public const string Command = "fuzz-model";

    /// <summary>Loads each file of <c>args[0]</c> in name order; exit code 0 unless a file failed other than by InvalidDataException.</summary>
    public static int Run(string[] args)
    {
        int bad = 0;
        foreach (string file in Directory.GetFiles(args[0], "*.qatm").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(file);
            Console.Out.WriteLine($"start {name}");
            Console.Out.Flush();
            try
            {
                var model = QuantizedModel.Load(file);
                if (model.BytesPerSample <= QuantizedModel.CompileKernelsBudgetBytes)
                {
                    var output = model.Predict(new float[model.InputSize], 1);
                    if (output.Length != model.OutputSize)
                        throw new InvalidOperationException($"{output.Length} outputs for {model.OutputSize}");
                    using var again = new MemoryStream();
                    model.Save(again);
                    again.Position = 0;
                    QuantizedModel.Load(again);
                }
                Console.Out.WriteLine($"loaded {name}");
            }
            catch (InvalidDataException e)
            {
                Console.Out.WriteLine($"refused {name}: {e.Message.ReplaceLineEndings(" ")}");
            }
            catch (Exception e)
            {
                bad++;
                Console.Out.WriteLine($"BAD {name}: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
            }
            Console.Out.Flush();
        }
        return bad == 0 ? 0 : 1;
    }

    /// <summary>
    /// Mutations of a valid file: the payload's bytes flipped, 32-bit fields overwritten with boundary values at random
    /// offsets (sizes, counts, shapes, zero points, lengths), the payload cut or extended; each rehashed, so the reader
    /// gets past the checksum to the parser. A few lie in the header instead (length, version, hash).
    /// </summary>
    public static IEnumerable<byte[]> Mutations(byte[] valid, int count, int seed)
    {
        var random = new Random(seed);
        int[] boundary = [0, 1, -1, 2, 3, 4, 7, 16, 255, 256, 65535, 65536, 1 << 20, 1 << 24, 1 << 30, int.MaxValue, int.MinValue, 0x7F7FFFFF, 0x7FC00000];
        byte[] payload = valid[QuantizedModelFormat.HeaderBytes..];
        for (int i = 0; i < count; i++)
        {
            byte[] p = (byte[])payload.Clone();
            byte[] header = valid[..QuantizedModelFormat.HeaderBytes];
            switch (random.Next(6))
            {
                case 0: // flip a few bytes
                    for (int f = random.Next(1, 5); f > 0; f--)
                        p[random.Next(p.Length)] ^= (byte)random.Next(1, 256);
                    break;
                case 1: // a 32-bit field to a boundary value (most fields are int32: sizes, counts, shapes, zero points)
                case 2:
                    for (int f = random.Next(1, 3); f > 0; f--)
                        BinaryPrimitives.WriteInt32LittleEndian(p.AsSpan(random.Next(p.Length - 3)), boundary[random.Next(boundary.Length)]);
                    break;
                case 3: // cut the payload
                    p = p[..random.Next(p.Length)];
                    break;
                case 4: // junk appended
                    p = [.. p, .. Enumerable.Range(0, random.Next(1, 64)).Select(_ => (byte)random.Next(256))];
                    break;
                default: // the header lies: length, version or hash
                    int which = random.Next(3);
                    if (which == 0)
                        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(12), random.Next(2) == 0 ? 1L << 40 : random.Next(p.Length * 2));
                    else if (which == 1)
                        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)random.Next(65536));
                    else
                        header[20 + random.Next(32)] ^= 0x5A;
                    yield return [.. header, .. p];
                    continue;
            }
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(12), p.Length);
            QuantizedModelFormat.Hash(p).CopyTo(header, 20);
            yield return [.. header, .. p];
        }
    }

    /// <summary>Runs the child on <paramref name="folder"/>; returns its exit code and output lines (killed after <paramref name="timeout"/>).</summary>
    public static (int ExitCode, List<string> Lines) RunChild(string folder, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { typeof(ModelFileFuzzer).Assembly.Location, Command, folder })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var lines = new List<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (lines)
                    lines.Add(e.Data);
        };
        process.BeginOutputReadLine();
        string errors = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            lines.Add("TIMEOUT");
        }
        process.WaitForExit();
        if (errors.Length > 0)
            lines.Add("stderr: " + errors);
        return (process.ExitCode, lines);
    }
}
