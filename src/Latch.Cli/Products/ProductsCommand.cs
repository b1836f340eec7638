using System.CommandLine;
using System.Text.Json.Nodes;
using Latch.Cli.Api;
using Latch.Cli.Output;
using Latch.Cli.Shared;
using Spectre.Console;

namespace Latch.Cli.Products;

/// <summary><c>latch products …</c>: products, their environments, and the apps connected to them (SPEC §4).</summary>
internal static class ProductsCommand
{
    private const string ProductFileHelp =
        "JSON file with the product: {tag, name, envs:[{slug, env_name, active}]} ('-' reads standard input)";

    private const string ProductAppFileHelp =
        "JSON file with the connection: {access_tag, envs:[{app_env_slug, product_env_slug, variables:[{key, value}], auth:[{auth_tag, data:{…}}]}]} ('-' reads standard input)";

    public static Command Create(CliEnvironment env, GlobalOptions global)
    {
        var products = new Command("products", "Products, their environments, and the apps connected to them");
        products.Subcommands.Add(ListCommand(env, global));
        products.Subcommands.Add(GetCommand(env, global));
        products.Subcommands.Add(CreateCommand(env, global));
        products.Subcommands.Add(DeleteCommand(env, global));
        products.Subcommands.Add(AppsCommand(env, global));
        return products;
    }

    private static Argument<string> ProductArgument(string name = "TAG") => new(name) { Description = "The product's tag, e.g. shop" };

    private static Argument<string> AppArgument() => new("APP") { Description = "The connected app's access tag, e.g. stripe_app" };

    private static string ProductPath(string tag) => $"v1/products/{LatchApiClient.Segment(tag)}";

    private static string ProductAppsPath(string product) => ProductPath(product) + "/apps";

    private static string ProductAppPath(string product, string app) => $"{ProductAppsPath(product)}/{LatchApiClient.Segment(app)}";

    private static Command ListCommand(CliEnvironment env, GlobalOptions global)
    {
        var list = new ListOptions();
        var command = new Command("list", "List products");
        list.AddTo(command);
        command.SetAction(LatchCli.Handler(env, global, context =>
            list.RunAsync(context, "v1/products", "products", RuntimeRenderer.WriteProductList)));
        return command;
    }

    private static Command GetCommand(CliEnvironment env, GlobalOptions global)
    {
        var tag = ProductArgument();
        var command = new Command("get", "Show a product and its environments") { tag };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            using var client = context.CreateClient();
            var product = await client.SendAsync(HttpMethod.Get, ProductPath(context.Parse.GetRequiredValue(tag)), null, context.CancellationToken);
            return await PrintAsync(context, product, null, RuntimeRenderer.WriteProduct);
        }));
        return command;
    }

    private static Command CreateCommand(CliEnvironment env, GlobalOptions global)
    {
        var tag = new Argument<string?>("TAG") { Description = "The product's tag, e.g. shop (optional with --file)", Arity = ArgumentArity.ZeroOrOne };
        var file = new Option<string?>("--file", "-f") { Description = ProductFileHelp };
        var name = new Option<string?>("--name") { Description = "Display name (default: the tag)" };
        var envs = new Option<string[]>("--env") { Description = ProductEnvSpec.Help };
        var command = new Command("create", "Create a product: latch products create shop --name Shop --env prd:Production --env dev, or --file") { tag, file, name, envs };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var parse = context.Parse;
            var tagValue = parse.GetValue(tag);
            var envSpecs = parse.GetValue(envs) ?? [];
            JsonObject body;
            if (parse.GetValue(file) is { } path)
            {
                if (parse.GetResult(name) is not null || envSpecs.Length > 0)
                {
                    throw new CliUsageException("--file and --name/--env are mutually exclusive");
                }

                body = JsonFileInput.ReadObject(path, context.Env, "the product");
                JsonFileInput.MatchName(body, "tag", tagValue, "product");
            }
            else
            {
                if (string.IsNullOrEmpty(tagValue))
                {
                    throw new CliUsageException("products create needs a TAG with at least one --env, or --file");
                }

                if (envSpecs.Length == 0)
                {
                    throw new CliUsageException("products create needs at least one --env slug[:Name][:inactive] (or --file)");
                }

                body = new JsonObject
                {
                    ["tag"] = tagValue,
                    ["name"] = parse.GetValue(name) ?? tagValue,
                    ["envs"] = ProductEnvSpec.ParseAll(envSpecs),
                };
            }

            using var client = context.CreateClient();
            var product = await client.SendAsync(HttpMethod.Post, "v1/products", body, context.CancellationToken);
            var created = Json.String(product, "tag") ?? Json.String(body, "tag");
            return await PrintAsync(context, product, $"Created product '{created}'.", RuntimeRenderer.WriteProduct);
        }));
        return command;
    }

    private static Command DeleteCommand(CliEnvironment env, GlobalOptions global)
    {
        var tag = ProductArgument();
        var confirm = new ConfirmOption();
        var command = new Command("delete", "Delete a product") { tag, confirm.Yes };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var product = context.Parse.GetRequiredValue(tag);
            return await confirm.DeleteAsync(context, $"Type the tag '{product}' to delete the product", product, ProductPath(product), $"Deleted product '{product}'.");
        }));
        return command;
    }

    private static Command AppsCommand(CliEnvironment env, GlobalOptions global)
    {
        var apps = new Command("apps", "Connect apps to a product: per environment, the app environment, variables and auth data");
        apps.Subcommands.Add(AppsAddCommand(env, global));
        apps.Subcommands.Add(AppsListCommand(env, global));
        apps.Subcommands.Add(AppsGetCommand(env, global));
        apps.Subcommands.Add(AppsUpdateCommand(env, global));
        apps.Subcommands.Add(AppsRemoveCommand(env, global));
        return apps;
    }

    private static Command AppsAddCommand(CliEnvironment env, GlobalOptions global)
    {
        var product = ProductArgument("PRODUCT");
        var file = new Option<string>("--file", "-f") { Description = ProductAppFileHelp, Required = true };
        var command = new Command("add", "Connect an app to a product (product.apps.add); references that would fail today are listed as warnings") { product, file };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var productTag = context.Parse.GetRequiredValue(product);
            var body = JsonFileInput.ReadObject(context.Parse.GetRequiredValue(file), context.Env, "the product app");
            using var client = context.CreateClient();
            var config = await client.SendAsync(HttpMethod.Post, ProductAppsPath(productTag), body, context.CancellationToken);
            var app = Json.String(config, "access_tag") ?? Json.String(body, "access_tag");
            return await PrintProductAppAsync(context, config, $"Connected app '{app}' to product '{productTag}'.");
        }));
        return command;
    }

    private static Command AppsListCommand(CliEnvironment env, GlobalOptions global)
    {
        var product = ProductArgument("PRODUCT");
        var list = new ListOptions();
        var command = new Command("list", "List the apps connected to a product") { product };
        list.AddTo(command);
        command.SetAction(LatchCli.Handler(env, global, context =>
            list.RunAsync(context, ProductAppsPath(context.Parse.GetRequiredValue(product)), "apps", RuntimeRenderer.WriteProductAppList)));
        return command;
    }

    private static Command AppsGetCommand(CliEnvironment env, GlobalOptions global)
    {
        var product = ProductArgument("PRODUCT");
        var app = AppArgument();
        var command = new Command("get", "Show how an app is connected to a product") { product, app };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            using var client = context.CreateClient();
            var config = await client.SendAsync(
                HttpMethod.Get, ProductAppPath(context.Parse.GetRequiredValue(product), context.Parse.GetRequiredValue(app)), null, context.CancellationToken);
            return await PrintProductAppAsync(context, config, null);
        }));
        return command;
    }

    private static Command AppsUpdateCommand(CliEnvironment env, GlobalOptions global)
    {
        var product = ProductArgument("PRODUCT");
        var app = AppArgument();
        var file = new Option<string>("--file", "-f") { Description = ProductAppFileHelp, Required = true };
        var command = new Command("update", "Replace an app's connection to a product with the one in a JSON file") { product, app, file };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var productTag = context.Parse.GetRequiredValue(product);
            var appTag = context.Parse.GetRequiredValue(app);
            var body = JsonFileInput.ReadObject(context.Parse.GetRequiredValue(file), context.Env, "the product app");
            JsonFileInput.MatchName(body, "access_tag", appTag, "product app");
            using var client = context.CreateClient();
            var config = await client.SendAsync(HttpMethod.Put, ProductAppPath(productTag, appTag), body, context.CancellationToken);
            return await PrintProductAppAsync(context, config, $"Updated app '{appTag}' in product '{productTag}'.");
        }));
        return command;
    }

    private static Command AppsRemoveCommand(CliEnvironment env, GlobalOptions global)
    {
        var product = ProductArgument("PRODUCT");
        var app = AppArgument();
        var confirm = new ConfirmOption();
        var command = new Command("remove", "Disconnect an app from a product") { product, app, confirm.Yes };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var productTag = context.Parse.GetRequiredValue(product);
            var appTag = context.Parse.GetRequiredValue(app);
            return await confirm.DeleteAsync(context, $"Type the access tag '{appTag}' to disconnect it from product '{productTag}'", appTag, ProductAppPath(productTag, appTag), $"Removed app '{appTag}' from product '{productTag}'.");
        }));
        return command;
    }

    private static async Task<int> PrintProductAppAsync(CommandContext context, JsonNode? config, string? headline)
    {
        if (context.Json)
        {
            await context.Env.Out.WriteLineAsync(Json.Format(config));
            return ExitCodes.Success;
        }

        var console = context.Env.CreateConsole();
        if (headline is not null)
        {
            console.WriteLine(headline);
        }

        RuntimeRenderer.WriteProductApp(console, config);
        // Warnings are advice, not failures: the configuration is stored and the exit code stays 0.
        RuntimeRenderer.WriteWarnings(console, config);
        return ExitCodes.Success;
    }

    private static async Task<int> PrintAsync(
        CommandContext context, JsonNode? node, string? headline, Action<IAnsiConsole, JsonNode?> render)
    {
        if (context.Json)
        {
            await context.Env.Out.WriteLineAsync(Json.Format(node));
            return ExitCodes.Success;
        }

        var console = context.Env.CreateConsole();
        if (headline is not null)
        {
            console.WriteLine(headline);
        }

        render(console, node);
        return ExitCodes.Success;
    }
}
