using System.CommandLine;

namespace Latch.Cli.Completion;

/// <summary>
/// <c>latch completion bash|zsh|pwsh</c>: prints a script that wires the shell's completion to
/// <c>latch [suggest:N] "LINE"</c>, System.CommandLine's suggest directive (the dotnet-suggest protocol). The script
/// passes the line after the program name and the cursor position within it, so completion works whatever the
/// executable is called.
/// </summary>
internal static class CompletionCommand
{
    public const string Bash = """
        # latch completion for bash. Add to ~/.bashrc:  source <(latch completion bash)
        _latch_complete() {
            local before="${COMP_LINE:0:COMP_POINT}"
            local rest="${before#*[[:space:]]}"
            [[ "$rest" == "$before" ]] && rest=""
            local IFS=$'\n'
            COMPREPLY=( $(compgen -W "$(latch "[suggest:${#rest}]" "$rest" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}") )
        }
        complete -o default -F _latch_complete latch
        """;

    public const string Zsh = """
        # latch completion for zsh. Add to ~/.zshrc:  source <(latch completion zsh)
        _latch() {
            local before="${BUFFER[1,CURSOR]}"
            local rest="${before#*[[:space:]]}"
            [[ "$rest" == "$before" ]] && rest=""
            local -a suggestions
            suggestions=("${(@f)$(latch "[suggest:${#rest}]" "$rest" 2>/dev/null)}")
            compadd -- "${suggestions[@]}"
        }
        compdef _latch latch
        """;

    public const string Pwsh = """
        # latch completion for PowerShell. Add to $PROFILE:  latch completion pwsh | Out-String | Invoke-Expression
        Register-ArgumentCompleter -Native -CommandName latch -ScriptBlock {
            param($wordToComplete, $commandAst, $cursorPosition)
            $line = $commandAst.ToString()
            $start = $commandAst.CommandElements[0].Extent.EndOffset - $commandAst.Extent.StartOffset
            $rest = $line.Substring([Math]::Min($start, $line.Length)).TrimStart()
            $position = [Math]::Max(0, $cursorPosition - $commandAst.Extent.StartOffset - ($line.Length - $rest.Length))
            latch "[suggest:$position]" "$rest" 2>$null | ForEach-Object {
                [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
            }
        }
        """;

    public static Command Create(CliEnvironment env)
    {
        var shell = new Argument<string>("SHELL") { Description = "bash, zsh or pwsh" };
        shell.AcceptOnlyFromAmong("bash", "zsh", "pwsh");
        var command = new Command("completion", "Print a shell completion script (bash, zsh or pwsh); see the script's first line for how to load it") { shell };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var script = parse.GetRequiredValue(shell) switch
            {
                "bash" => Bash,
                "zsh" => Zsh,
                _ => Pwsh,
            };
            await env.Out.WriteLineAsync(script.AsMemory(), cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }
}
