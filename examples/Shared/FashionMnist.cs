using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace Qat.MLNet.Examples.Shared;

/// <summary>Reads Fashion-MNIST from the IDX files Debian's <c>dataset-fashion-mnist</c> installs.</summary>
public static class FashionMnist
{
    /// <summary>Where <c>apt-get install -y dataset-fashion-mnist</c> puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The 10k test set that ships in the repository (examples/data/fashion-mnist), found from a build output folder.</summary>
    public static string ShippedDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "examples", "data", "fashion-mnist");
            if (File.Exists(Path.Combine(candidate, "t10k-images-idx3-ubyte.gz")))
                return candidate;
        }
        throw new DirectoryNotFoundException("examples/data/fashion-mnist was not found above " + AppContext.BaseDirectory + ".");
    }

    /// <summary>Images as float32 [n, 784] scaled to [0, 1], and labels as int64 [n].</summary>
    /// <param name="directory">The folder with the four .gz files.</param>
    /// <param name="train">The 60k training set (true) or the 10k test set.</param>
    /// <param name="limit">Keep only the first rows (0 = all).</param>
    /// <exception cref="FileNotFoundException">The files are missing; the message says how to install them.</exception>
    /// <exception cref="InvalidDataException">A file is not an IDX file of the expected kind.</exception>
    public static (Tensor Images, Tensor Labels) Load(string directory, bool train, int limit = 0)
    {
        string prefix = train ? "train" : "t10k";
        var images = ReadIdx(Path.Combine(directory, $"{prefix}-images-idx3-ubyte.gz"), 2051, out int rows, out int width);
        var labels = ReadIdx(Path.Combine(directory, $"{prefix}-labels-idx1-ubyte.gz"), 2049, out int labelRows, out _);
        if (rows != labelRows)
            throw new InvalidDataException($"{rows} images but {labelRows} labels in {directory}.");
        int n = limit > 0 ? Math.Min(limit, rows) : rows;
        var x = torch.tensor(images.AsSpan(0, n * width).ToArray(), new long[] { n, width }, ScalarType.Byte).to(ScalarType.Float32).div_(255f);
        var y = torch.tensor(labels.AsSpan(0, n).ToArray(), ScalarType.Byte).to(ScalarType.Int64);
        return (x, y);
    }

    /// <summary>The class names of labels 0..9.</summary>
    public static readonly string[] ClassNames =
        { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" };

    /// <summary>Whether the full data set (60k training images) is installed in <see cref="DefaultDirectory"/>.</summary>
    public static bool FullSetInstalled() => File.Exists(Path.Combine(DefaultDirectory, "train-images-idx3-ubyte.gz"));

    /// <summary>Pixels per image (28 x 28).</summary>
    public const int Pixels = 28 * 28;

    /// <summary>Image <paramref name="index"/> of <see cref="LoadRaw"/>'s pixels as 784 floats in [0, 1] (what the examples' feature vectors hold).</summary>
    public static float[] Features(byte[] pixels, int index)
    {
        var features = new float[Pixels];
        for (int p = 0; p < Pixels; p++)
            features[p] = pixels[index * Pixels + p] / 255f;
        return features;
    }

    /// <summary>Raw pixels (row-major, 784 bytes per image) and labels (0..9), without TorchSharp.</summary>
    /// <param name="directory">The folder with the .gz files.</param>
    /// <param name="train">The 60k training set (true) or the 10k test set.</param>
    public static (byte[] Pixels, byte[] Labels) LoadRaw(string directory, bool train)
    {
        string prefix = train ? "train" : "t10k";
        var images = ReadIdx(Path.Combine(directory, $"{prefix}-images-idx3-ubyte.gz"), 2051, out int rows, out _);
        var labels = ReadIdx(Path.Combine(directory, $"{prefix}-labels-idx1-ubyte.gz"), 2049, out int labelRows, out _);
        if (rows != labelRows)
            throw new InvalidDataException($"{rows} images but {labelRows} labels in {directory}.");
        return (images, labels);
    }

    private static byte[] ReadIdx(string path, int expectedMagic, out int rows, out int width)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} is missing: install Fashion-MNIST with 'apt-get install -y dataset-fashion-mnist'.", path);
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gz.CopyTo(memory);
        var data = memory.ToArray();
        int magic = ReadBigEndian(data, 0);
        if (magic != expectedMagic)
            throw new InvalidDataException($"{path}: magic {magic}, expected {expectedMagic}.");
        rows = ReadBigEndian(data, 4);
        int offset = 8;
        width = 1;
        if (magic == 2051)
        {
            width = ReadBigEndian(data, 8) * ReadBigEndian(data, 12);
            offset = 16;
        }
        if (data.Length - offset != (long)rows * width)
            throw new InvalidDataException($"{path}: {data.Length - offset} bytes of data for {rows} x {width}.");
        return data[offset..];
    }

    private static int ReadBigEndian(byte[] data, int offset)
        => (data[offset] << 24) | (data[offset + 1] << 16) | (data[offset + 2] << 8) | data[offset + 3];
}
