-- Mapping over two task results, paired by index like zip.
-- Variants: lists of equal length (equal_lengths, Prefect 1's
-- tests/core/test_task_map.py::test_multiple_map_arguments): [11, 22, 33]; lists of lengths 3
-- and 2 (zip_shortest, test_map_behaves_like_zip_with_differing_length_results): two children,
-- [0, 2] (Prefect zips to the shortest).
local list_x = dk.task("list_x", function(values) return values end)
local list_y = dk.task("list_y", function(values) return values end)
local add = dk.task("add", function(x, y) return x + y end)

return Flow("map_two_lists", function()
  add:map { x = list_x(dk.Parameter("xs")), y = list_y(dk.Parameter("ys")) }
end)
