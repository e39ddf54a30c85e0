module data-platform/esotemplate

go 1.26.0
