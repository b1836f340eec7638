using System.Globalization;
using System.Text;

namespace Latch.Benchmarks;

/// <summary>Deterministic benchmark documents: realistic nested configuration with <c>$Token{KEY_n}</c> references.</summary>
internal static class Documents
{
    public const int DistinctKeys = 100;

    private static readonly string[] Words =
    [
        "payments", "ledger", "refund", "invoice", "customer", "gateway", "retry", "timeout", "region", "replica",
        "cache", "queue", "worker", "billing", "report", "export", "sync", "webhook", "primary", "fallback",
    ];

    private static readonly string[] Regions = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1"];

    /// <summary>About 10 MB: an array of service configurations, one reference about every 224 bytes.</summary>
    public static byte[] Large(int targetBytes = 10 * 1024 * 1024, int bytesPerReference = 224)
    {
        var rng = new Deterministic(42);
        var sb = new StringBuilder(targetBytes + 4096);
        sb.Append("{\"version\":3,\"workspace\":\"default\",\"services\":[");
        var first = true;
        for (var i = 0; sb.Length < targetBytes; i++)
        {
            if (!first)
            {
                sb.Append(',');
            }

            first = false;
            AppendService(sb, rng, i, bytesPerReference);
        }

        sb.Append("]}");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>About 4 KB: an action request (URL, headers, query, body) with 10 references.</summary>
    public static byte[] Small()
    {
        var rng = new Deterministic(7);
        var sb = new StringBuilder(4096);
        sb.Append("""
            {"method":"POST","url":"https://api.example.com/v1/accounts/$Token{KEY_1}/charges?expand=customer",
            "headers":{"Authorization":"Bearer $Token{KEY_2}","X-API-Key":"$Token{KEY_3}","Idempotency-Key":"b7e0c6d2-91f4-4f0e-8f5e-3c1d2a9b7e11",
            "Content-Type":"application/json","Accept":"application/json","User-Agent":"latch/1.0","X-Client-Secret":"$Secret{KEY_4}"},
            "query":{"api_key":"$Token{KEY_5}","limit":"100","starting_after":"ch_3Nq0"},
            "body":{"amount":2599,"currency":"eur","capture":true,"description":"Order 10023 \u2014 \"priority\" shipping",
            "metadata":{"order_id":"10023","signature":"$Token{KEY_6}","partner_token":"$Token{KEY_7}"},
            "transfer_data":{"destination":"$Token{KEY_8}"},"customer":{"email":"jane@example.com","vault":"$Token{KEY_9}",
            "address":{"line1":"1 Main St","city":"Lyon","postal_code":"69001","country":"FR"}},"notes":[
            """);
        var n = 0;
        while (sb.Length < 3900)
        {
            sb.Append(n++ == 0 ? "" : ",").Append('"');
            AppendWords(sb, rng, 6);
            sb.Append('"');
        }

        sb.Append("],\"webhook_secret\":\"$Token{KEY_10}\"}}");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static void AppendService(StringBuilder sb, Deterministic rng, int i, int bytesPerReference)
    {
        var start = sb.Length;
        var name = string.Create(CultureInfo.InvariantCulture, $"svc-{i:D5}");
        sb.Append(CultureInfo.InvariantCulture, $$"""{"name":"{{name}}","enabled":{{(rng.Next(10) > 0 ? "true" : "false")}},"replicas":{{1 + rng.Next(8)}},"region":"{{rng.Pick(Regions)}}",""");
        sb.Append(CultureInfo.InvariantCulture, $$"""
            "endpoint":{"url":"https://api.example.com/v2/{{name}}","timeout_ms":{{500 + rng.Next(5000)}},"retry_backoff_ms":[100,200,400,800]},
            """);
        sb.Append(CultureInfo.InvariantCulture, $$"""
            "headers":{"Authorization":"Bearer {{Ref(rng)}}","X-Request-Source":"latch-bench","Accept":"application/json"},
            """);
        sb.Append(CultureInfo.InvariantCulture, $$"""
            "database":{"host":"db-{{rng.Next(16)}}.internal","port":5432,"user":"{{name.Replace('-', '_')}}","password":"{{Ref(rng)}}","pool":{"min":2,"max":{{10 + rng.Next(40)}} },"ssl":true},
            """);
        sb.Append(CultureInfo.InvariantCulture, $$"""
            "labels":{"team":"{{rng.Pick(Words)}}","tier":"{{(rng.Next(2) == 0 ? "gold" : "silver")}}","cost_center":{{1000 + rng.Next(9000)}}},
            """);
        sb.Append(CultureInfo.InvariantCulture, $$"""
            "webhooks":[{"url":"https://hooks.example.com/{{name}}/events","secret":"{{Ref(rng)}}","events":["created","updated"]}],
            """);
        sb.Append("\"integrations\":{\"s3\":{\"bucket\":\"").Append(name).Append("-archive\",\"access_key\":\"")
            .Append(Ref(rng)).Append("\"}},\"notes\":\"");

        // Pad the notes so that each service (4 references) is about 4 × bytesPerReference bytes long.
        var target = 4 * bytesPerReference - 2;
        AppendWords(sb, rng, 3);
        sb.Append("\\n");
        while (sb.Length - start < target)
        {
            sb.Append(' ').Append(rng.Pick(Words));
        }

        sb.Append("\"}");
    }

    private static string Ref(Deterministic rng) =>
        string.Create(CultureInfo.InvariantCulture, $"{(rng.Next(8) == 0 ? "$Secret" : "$Token")}{{KEY_{rng.Next(DistinctKeys) + 1}}}");

    private static void AppendWords(StringBuilder sb, Deterministic rng, int count)
    {
        for (var w = 0; w < count; w++)
        {
            if (w > 0)
            {
                sb.Append(' ');
            }

            sb.Append(rng.Pick(Words));
        }
    }
}
