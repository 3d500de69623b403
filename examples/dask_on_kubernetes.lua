-- The older DaskOnKubernetesEnvironment (Prefect 0.5): the image is built from base_image
-- with python_dependencies, env_vars and files (`dkrun build` writes its context), and the
-- flow runs on a Dask cluster of up to max_workers workers made for the run.
local numbers = task("numbers", function() return { 1, 2, 3, 4 } end)
local square = task("square", function(n) return n * n end)
local report = task("report", function(squares)
  local total = 0
  for _, s in ipairs(squares) do total = total + s end
  print("sum of squares: " .. total .. " (" .. (os.getenv("REPORT_LABEL") or "no label") .. ")")
end)

return Flow("Dask on Kubernetes", {
  environment = DaskOnKubernetesEnvironment {
    base_image = "python:3.11-slim-bookworm",
    registry_url = "registry.example.com/flows",
    image_name = "dask-on-k8s",
    image_tag = "0.1.0",
    python_dependencies = { "pyarrow" },
    env_vars = { REPORT_LABEL = "from the image" },
    files = { ["sales.csv"] = "/opt/flow/sales.csv" },
    max_workers = 2,
  },
}, function()
  report(square:map(numbers()))
end)
