// The floor for bench/run's resolve comparison: Kestrel, routing and a constant JSON answer — nothing else.
// Usage: dotnet Floor.dll --urls http://127.0.0.1:PORT
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
app.MapPost("/", () => Results.Text("""{"ok":true}""", "application/json"));
app.Run();
