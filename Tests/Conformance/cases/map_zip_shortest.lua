-- Prefect 1: tests/core/test_task_map.py::test_map_behaves_like_zip_with_differing_length_results
-- Lists of lengths 3 and 2: two children, [0, 2] (Prefect zips to the shortest).
local ll_3 = dk.task("ll_3", function() return { 0, 1, 2 } end)
local ll_2 = dk.task("ll_2", function() return { 0, 1 } end)
local add = dk.task("add", function(x, y) return x + y end)

return Flow("map_zip_shortest", function()
  add:map { x = ll_3(), y = ll_2() }
end)
