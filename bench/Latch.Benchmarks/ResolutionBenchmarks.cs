using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Latch.Core.References;

namespace Latch.Benchmarks;

/// <summary>
/// Resolution cost against the floor of copying the same document through <see cref="Utf8JsonReader"/> →
/// <see cref="Utf8JsonWriter"/>. The Ratio column is the figure to report (target ≤ 1.5×, better ≤ 1.2×).
/// </summary>
[MemoryDiagnoser]
public class ResolutionBenchmarks
{
    private static readonly ResolutionTarget Target = new("bench_app", "prd", "shop");
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private byte[] _json = [];
    private ArrayBufferWriter<byte> _buffer = new();
    private Utf8JsonWriter _writer = null!;
    private byte[] _scratch = [];
    private ResolutionEngine _engine = null!;
    private InMemoryLookup _lookup = null!;

    /// <summary>Which document: about 10 MB of configuration, or a 4 KB action request.</summary>
    [Params("10MB", "4KB")]
    public string Document { get; set; } = "10MB";

    [GlobalSetup]
    public void Setup()
    {
        _json = Document == "4KB" ? Documents.Small() : Documents.Large();
        _buffer = new ArrayBufferWriter<byte>(_json.Length * 2);
        _writer = new Utf8JsonWriter(_buffer, WriterOptions);
        _scratch = new byte[_json.Length];
        _engine = new ResolutionEngine(TimeProvider.System);
        _lookup = new InMemoryLookup(Documents.DistinctKeys);

        var doc = ReferenceScanner.Scan(_json);
        var values = _engine.ResolveValuesAsync(doc, Target, _lookup, CancellationToken.None).GetAwaiter().GetResult();
        if (!values.IsSuccess || doc.Malformed.Count > 0)
        {
            throw new InvalidOperationException("The benchmark document does not resolve: " + string.Join("; ", values.Errors.Select(e => e.Message)));
        }

        Console.WriteLine($"// {Document}: {_json.Length:N0} bytes, {doc.References.Count:N0} references ({(double)_json.Length / doc.References.Count:F0} bytes per reference), {doc.Keys.Count} distinct keys");
    }

    /// <summary>The floor: every token read and written again.</summary>
    [Benchmark(Baseline = true)]
    public int Floor()
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        var reader = new Utf8JsonReader(_json);
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject: _writer.WriteStartObject(); break;
                case JsonTokenType.EndObject: _writer.WriteEndObject(); break;
                case JsonTokenType.StartArray: _writer.WriteStartArray(); break;
                case JsonTokenType.EndArray: _writer.WriteEndArray(); break;
                case JsonTokenType.PropertyName:
                    if (reader.ValueIsEscaped)
                    {
                        _writer.WritePropertyName(_scratch.AsSpan(0, reader.CopyString(_scratch)));
                    }
                    else
                    {
                        _writer.WritePropertyName(reader.ValueSpan);
                    }

                    break;
                case JsonTokenType.String:
                    if (reader.ValueIsEscaped)
                    {
                        _writer.WriteStringValue(_scratch.AsSpan(0, reader.CopyString(_scratch)));
                    }
                    else
                    {
                        _writer.WriteStringValue(reader.ValueSpan);
                    }

                    break;
                case JsonTokenType.Number: _writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true); break;
                case JsonTokenType.True: _writer.WriteBooleanValue(true); break;
                case JsonTokenType.False: _writer.WriteBooleanValue(false); break;
                case JsonTokenType.Null: _writer.WriteNullValue(); break;
                default: break;
            }
        }

        _writer.Flush();
        return _buffer.WrittenCount;
    }

    /// <summary>Everything the engine does except store I/O: scan, policy checks, (in-memory) values, substitution.</summary>
    [Benchmark]
    public async Task<int> Resolve()
    {
        _buffer.ResetWrittenCount();
        var doc = ReferenceScanner.Scan(_json);
        var values = await _engine.ResolveValuesAsync(doc, Target, _lookup, CancellationToken.None);
        doc.Substitute(values.Values, _buffer);
        return _buffer.WrittenCount;
    }

    /// <summary>
    /// <see cref="Resolve"/> plus reading every resolved reference's path, as an auditing caller does (paths are built
    /// lazily, so <see cref="Resolve"/> alone does not pay for them).
    /// </summary>
    [Benchmark]
    public async Task<int> ResolveWithPaths()
    {
        _buffer.ResetWrittenCount();
        var doc = ReferenceScanner.Scan(_json);
        var values = await _engine.ResolveValuesAsync(doc, Target, _lookup, CancellationToken.None);
        doc.Substitute(values.Values, _buffer);
        var length = 0;
        foreach (var resolved in values.Resolved)
        {
            length += resolved.Path.Length;
        }

        return _buffer.WrittenCount + length;
    }
}
